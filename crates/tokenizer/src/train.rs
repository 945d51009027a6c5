//! Training a byte-level BPE tokenizer (the minbpe recipe, GPT-2 flavour).
//!
//! Start from the 256 bytes. Count every adjacent pair of tokens inside the
//! words of the training text; glue the most frequent pair into a new token;
//! repeat until the vocabulary is as large as asked. The list of glue steps
//! *is* the tokenizer: [`crate::bpe`] replays it, earliest merge first, on
//! new text. Words come from the same pre-tokenizer that encoding uses, so a
//! merge never crosses a word boundary (` the` can become a token, `e t`
//! cannot).
//!
//! The result is written in the GGUF `tokenizer.*` form ([`TrainedBpe::gguf_metadata`]),
//! so the tokenizer that encodes and decodes it is the very one that reads
//! SmolLM2's, and a model trained with it can be saved as a GGUF file that
//! `locallm generate` and llama.cpp load.

use std::collections::HashMap;

use locallm_quant::{MetaValue, Metadata};

use crate::bytes::ByteMap;
use crate::pretokenize::PreTokenizer;
use crate::{Tokenizer, TokenizerError};

/// A trained vocabulary: byte-level token strings, merges, special tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedBpe {
    /// Token strings in GPT-2 stand-in characters (`Ġthe`), id = index.
    /// The 256 single bytes first, then one per merge, then the specials.
    pub tokens: Vec<String>,
    /// `"left right"` merges, in the order they were learned.
    pub merges: Vec<String>,
    /// The ids of the special tokens (CONTROL type), e.g. `<|endoftext|>`.
    pub special_ids: Vec<u32>,
    /// The pre-tokenizer name (`tokenizer.ggml.pre`).
    pub pre: String,
}

/// Trains a vocabulary of (at most) `vocab_size` tokens on `text`: 256 byte
/// tokens, `specials` at the end, and as many merges as fit in between. Stops
/// early when no pair occurs twice (a tiny text).
pub fn train_bpe(
    text: &str,
    vocab_size: usize,
    pre: &str,
    specials: &[&str],
) -> Result<TrainedBpe, TokenizerError> {
    let n_merges = vocab_size.saturating_sub(256 + specials.len());
    let bytes = ByteMap::new();
    // Each distinct word once, with how often it occurs: pair counts are
    // weighted by that, so the work grows with the vocabulary of the text,
    // not with its length.
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for word in PreTokenizer::from_name(pre)?.split(text)? {
        *counts.entry(word).or_default() += 1;
    }
    let mut words: Vec<(Vec<u32>, usize)> = counts
        .into_iter()
        .map(|(w, n)| (w.bytes().map(u32::from).collect(), n))
        .collect();
    words.sort(); // HashMap order is random; training must not be

    // id -> the bytes it stands for; bytes -> id (two merges can spell the
    // same string, e.g. `a|bc` and `ab|c`: they share one token)
    let mut spelled: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    let mut ids: HashMap<Vec<u8>, u32> = (0..=255u8).map(|b| (vec![b], b as u32)).collect();
    let mut merges = Vec::with_capacity(n_merges);
    for _ in 0..n_merges {
        let Some((pair, _)) = most_frequent_pair(&words).filter(|&(_, n)| n >= 2) else {
            break; // nothing repeats: more merges would only memorise
        };
        let joined = [
            spelled[pair.0 as usize].as_slice(),
            &spelled[pair.1 as usize],
        ]
        .concat();
        let new_id = *ids.entry(joined.clone()).or_insert_with(|| {
            spelled.push(joined);
            (spelled.len() - 1) as u32
        });
        for (word, _) in words.iter_mut() {
            merge_pair(word, pair, new_id);
        }
        merges.push(format!(
            "{} {}",
            bytes.encode(&spelled[pair.0 as usize]),
            bytes.encode(&spelled[pair.1 as usize])
        ));
    }
    let mut tokens: Vec<String> = spelled.iter().map(|b| bytes.encode(b)).collect();
    let mut special_ids = Vec::new();
    for s in specials {
        special_ids.push(tokens.len() as u32);
        tokens.push(s.to_string());
    }
    Ok(TrainedBpe {
        tokens,
        merges,
        special_ids,
        pre: pre.to_string(),
    })
}

// ANCHOR: bpe_train_step
/// The pair that occurs most often inside words (weighted by word count);
/// ties go to the smallest ids, so training is deterministic.
fn most_frequent_pair(words: &[(Vec<u32>, usize)]) -> Option<((u32, u32), usize)> {
    let mut counts: HashMap<(u32, u32), usize> = HashMap::new();
    for (word, n) in words {
        for pair in word.windows(2) {
            *counts.entry((pair[0], pair[1])).or_default() += n;
        }
    }
    counts
        .into_iter()
        .max_by(|(pa, na), (pb, nb)| na.cmp(nb).then(pb.cmp(pa)))
}

/// Replaces every occurrence of `pair` in `word` by `new_id`, left to right.
fn merge_pair(word: &mut Vec<u32>, pair: (u32, u32), new_id: u32) {
    let mut out = Vec::with_capacity(word.len());
    let mut i = 0;
    while i < word.len() {
        if i + 1 < word.len() && (word[i], word[i + 1]) == pair {
            out.push(new_id);
            i += 2;
        } else {
            out.push(word[i]);
            i += 1;
        }
    }
    *word = out;
}
// ANCHOR_END: bpe_train_step

impl TrainedBpe {
    /// The `tokenizer.*` GGUF keys that describe this vocabulary. The first
    /// special token (if any) is both BOS and EOS, as in GPT-2.
    pub fn gguf_metadata(&self) -> Vec<(String, MetaValue)> {
        let strings = |v: &[String]| {
            MetaValue::Array(v.iter().map(|s| MetaValue::String(s.clone())).collect())
        };
        let types = (0..self.tokens.len() as u32)
            .map(|id| MetaValue::I32(if self.special_ids.contains(&id) { 3 } else { 1 }))
            .collect();
        let mut md = vec![
            (
                "tokenizer.ggml.model".into(),
                MetaValue::String("gpt2".into()),
            ),
            (
                "tokenizer.ggml.pre".into(),
                MetaValue::String(self.pre.clone()),
            ),
            ("tokenizer.ggml.tokens".into(), strings(&self.tokens)),
            ("tokenizer.ggml.token_type".into(), MetaValue::Array(types)),
            ("tokenizer.ggml.merges".into(), strings(&self.merges)),
            (
                "tokenizer.ggml.add_bos_token".into(),
                MetaValue::Bool(false),
            ),
        ];
        if let Some(&id) = self.special_ids.first() {
            md.push(("tokenizer.ggml.bos_token_id".into(), MetaValue::U32(id)));
            md.push(("tokenizer.ggml.eos_token_id".into(), MetaValue::U32(id)));
        }
        md
    }

    /// The tokenizer that encodes and decodes with this vocabulary.
    pub fn tokenizer(&self) -> Result<Tokenizer, TokenizerError> {
        let entries = self.gguf_metadata().into_iter().collect();
        Tokenizer::from_metadata(&Metadata { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_pair_replaces_left_to_right() {
        let mut w = vec![1, 1, 1, 2];
        merge_pair(&mut w, (1, 1), 9);
        assert_eq!(w, vec![9, 1, 2]); // `aaa` → `aa a`, never `a aa`
    }

    /// The Wikipedia example of byte-pair encoding, `aaabdaaabac`: `aa`
    /// occurs four times (overlaps counted, as minbpe counts), so it is
    /// learned first; then `aa a` and `a b` are tied at two and the smaller
    /// ids win (`a`=97 < `aa`=256).
    #[test]
    fn first_merges_of_the_textbook_example() {
        let bpe = train_bpe("aaabdaaabac", 256 + 3, "gpt-2", &[]).unwrap();
        assert_eq!(bpe.merges, vec!["a a", "a b", "aa ab"]);
        assert_eq!(&bpe.tokens[256..], ["aa", "ab", "aaab"]);
        let tok = bpe.tokenizer().unwrap();
        let ids = tok.encode("aaabdaaabac", false).unwrap();
        let pieces: Vec<&str> = ids.iter().map(|&i| tok.token_text(i).unwrap()).collect();
        assert_eq!(pieces, ["aaab", "d", "aaab", "a", "c"]);
    }

    #[test]
    fn trained_tokenizer_round_trips_and_compresses() {
        let text = "the cat sat on the mat; the cat ate the rat. ".repeat(20);
        let bpe = train_bpe(&text, 300, "gpt-2", &["<|endoftext|>"]).unwrap();
        assert!(bpe.tokens.len() <= 300);
        let tok = bpe.tokenizer().unwrap();
        let ids = tok.encode(&text, false).unwrap();
        assert_eq!(tok.decode(&ids).unwrap(), text);
        assert!(ids.len() * 3 < text.len(), "{} tokens", ids.len());
        // the special token is one id, and stops generation
        let eot = tok.encode("<|endoftext|>", true).unwrap();
        assert_eq!(eot, vec![bpe.special_ids[0]]);
        assert!(tok.is_stop(eot[0]));
        // words never merge across a pre-tokenizer cut
        assert!(
            bpe.tokens
                .iter()
                .all(|t| !t.chars().skip(1).any(|c| c == 'Ġ'))
        );
    }

    #[test]
    fn training_is_deterministic() {
        let text = "one two three two one three three two ".repeat(5);
        let a = train_bpe(&text, 280, "gpt-2", &[]).unwrap();
        let b = train_bpe(&text, 280, "gpt-2", &[]).unwrap();
        assert_eq!(a, b);
    }
}
