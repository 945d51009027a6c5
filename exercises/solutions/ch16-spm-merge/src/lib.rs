//! Chapter 16 exercise: one merge step of SentencePiece-style BPE, and byte
//! fallback.
//!
//! Gemma, Llama 2, Mistral and Phi-3 store their vocabulary the SentencePiece
//! way (`tokenizer.ggml.model = llama` in GGUF). There is no merge list:
//! every token has a *score* (`tokenizer.ggml.scores`), and a space is
//! written `▁` (U+2581). Encoding starts from the text's characters and
//! glues adjacent symbols together, one pair at a time, until no adjacent
//! pair forms a token. A character that no token covers is then written as
//! its UTF-8 bytes, each byte as the token `<0xNN>`: nothing is lost.
//!
//! You write [`merge_step`] and [`byte_fallback`]; [`encode`] puts them
//! together. Check your work with `./check.sh ch16-spm-merge` (from
//! `exercises/`): the tests compare your tokens with `locallm-tokenizer`'s,
//! on toy vocabularies and on Gemma 3's 262,144 tokens (the first run fetches
//! the Gemma 3 270M file, 253 MB, into the model cache).

use std::collections::HashMap;

/// A SentencePiece vocabulary: each token's text, id and score.
pub struct Vocab {
    ids: HashMap<String, u32>,
    scores: Vec<f32>,
}

impl Vocab {
    /// `tokens[id]` has score `scores[id]`. A text listed twice keeps its
    /// first id.
    pub fn new(tokens: &[String], scores: &[f32]) -> Vocab {
        assert_eq!(tokens.len(), scores.len(), "one score per token");
        let mut ids = HashMap::new();
        for (id, text) in tokens.iter().enumerate() {
            ids.entry(text.clone()).or_insert(id as u32);
        }
        Vocab {
            ids,
            scores: scores.to_vec(),
        }
    }

    /// The id of the token whose text is `piece`, if there is one.
    pub fn id(&self, piece: &str) -> Option<u32> {
        self.ids.get(piece).copied()
    }

    /// The score of the token whose text is `piece`, if there is one.
    pub fn score(&self, piece: &str) -> Option<f32> {
        self.id(piece).map(|id| self.scores[id as usize])
    }
}

/// One merge step. Among the adjacent pairs of `symbols` whose two texts,
/// joined, are a token of `vocab`, pick the one whose joined token has the
/// highest score (the leftmost one on equal scores), and return the symbols
/// with that one pair glued into a single symbol. Returns `None` when no
/// adjacent pair joins into a token.
///
/// `["▁", "a", "b"]` with tokens `▁a` (score -0.5) and `ab` (-2.0) becomes
/// `["▁a", "b"]`.
pub fn merge_step(symbols: &[String], vocab: &Vocab) -> Option<Vec<String>> {
    let mut best: Option<(usize, f32)> = None;
    for (i, pair) in symbols.windows(2).enumerate() {
        let Some(score) = vocab.score(&format!("{}{}", pair[0], pair[1])) else {
            continue;
        };
        // strictly greater: on a tie the earlier (leftmost) pair stays
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((i, score));
        }
    }
    let (i, _) = best?;
    let mut merged = symbols[..i].to_vec();
    merged.push(format!("{}{}", symbols[i], symbols[i + 1]));
    merged.extend_from_slice(&symbols[i + 2..]);
    Some(merged)
}

/// Byte fallback: the ids of the tokens `<0x00>` ... `<0xFF>` (two
/// upper-case hex digits) for each byte of `symbol`'s UTF-8 encoding, in
/// order. A byte whose token the vocabulary lacks is left out.
///
/// `"é"` is the bytes C3 A9, so it becomes the ids of `<0xC3>` and `<0xA9>`.
pub fn byte_fallback(symbol: &str, vocab: &Vocab) -> Vec<u32> {
    symbol
        .bytes()
        .filter_map(|b| vocab.id(&format!("<0x{b:02X}>")))
        .collect()
}

/// Encodes a text: spaces become `▁`, each character a symbol; merge until
/// nothing merges; each symbol left is a token, or else its bytes.
pub fn encode(text: &str, vocab: &Vocab) -> Vec<u32> {
    let mut symbols: Vec<String> = text.replace(' ', "▁").chars().map(String::from).collect();
    while let Some(merged) = merge_step(&symbols, vocab) {
        symbols = merged;
    }
    symbols
        .iter()
        .flat_map(|s| match vocab.id(s) {
            Some(id) => vec![id],
            None => byte_fallback(s, vocab),
        })
        .collect()
}
