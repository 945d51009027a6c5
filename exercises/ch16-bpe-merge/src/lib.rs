//! Chapter 16 exercise: one merge step of byte-level BPE.
//!
//! A BPE tokenizer encodes a word by starting from its bytes (written as
//! GPT-2's stand-in characters: a space is `Ġ`) and gluing adjacent symbols
//! together, one pair at a time. Which pair? The merges list
//! (`tokenizer.ggml.merges` in a GGUF file) records the pairs in the order
//! training learned them; its position in that list is a pair's *rank*, and
//! the pair with the lowest rank is merged first.
//!
//! You write [`merge_step`]; [`encode_word`] repeats it until nothing merges.
//! Check your work with `./check.sh ch16-bpe-merge` (from `exercises/`): the
//! tests compare your tokens with `locallm-tokenizer`'s on the real model's
//! vocabulary.

use std::collections::HashMap;

/// Pair of adjacent symbols -> its rank (0 = the first merge learned).
pub type Ranks = HashMap<(String, String), usize>;

/// Reads merges written as `"left right"`, first = rank 0.
///
/// The split is at the first space after the first character, so the merge
/// `"Ġ t"` is `("Ġ", "t")`. Lines without such a space are skipped; a pair
/// listed twice keeps its first rank.
pub fn ranks_from_merges(merges: &[&str]) -> Ranks {
    let mut ranks = Ranks::new();
    for (rank, line) in merges.iter().enumerate() {
        let Some((at, _)) = line.char_indices().skip(1).find(|&(_, c)| c == ' ') else {
            continue;
        };
        let pair = (line[..at].to_string(), line[at + 1..].to_string());
        ranks.entry(pair).or_insert(rank);
    }
    ranks
}

/// One merge step: among all adjacent pairs of `symbols` that appear in
/// `ranks`, find the one with the lowest rank (the leftmost one if that pair
/// occurs more than once) and return the symbols with that one pair glued
/// into a single symbol. Returns `None` when no adjacent pair has a rank.
///
/// `["Ġ", "t", "h", "e"]` with ranks `{("Ġ","t"): 0, ("h","e"): 1}` becomes
/// `["Ġt", "h", "e"]`.
pub fn merge_step(symbols: &[String], ranks: &Ranks) -> Option<Vec<String>> {
    // TODO: look at every adjacent pair (`symbols.windows(2)` gives them),
    //       keep the position of the one whose rank is lowest;
    //       on equal ranks keep the leftmost position.
    // TODO: if there is none, return None.
    // TODO: otherwise build the new list: the symbols before the pair, the two
    //       symbols of the pair concatenated, the symbols after it.
    let _ = (symbols, ranks);
    todo!("one BPE merge step")
}

/// Encodes one word: its bytes as stand-in characters in, tokens out.
pub fn encode_word(mut symbols: Vec<String>, ranks: &Ranks) -> Vec<String> {
    while let Some(merged) = merge_step(&symbols, ranks) {
        symbols = merged;
    }
    symbols
}
