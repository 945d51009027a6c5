//! SentencePiece-style BPE: merge by score, fall back to bytes.
//!
//! Llama 1/2, Mistral, Phi-3 and Gemma store their vocabulary this way
//! (`tokenizer.ggml.model = llama`). There is no merge list: every token has
//! a *score* (its log-probability in the unigram model SentencePiece trained),
//! and encoding greedily glues the adjacent pair whose concatenation is the
//! highest-scoring token, until no adjacent pair forms a token.
//!
//! Two differences from byte-level BPE ([`crate::bpe`]):
//!
//! - tokens are UTF-8 text, with a space written as `▁` (U+2581), so the
//!   text is "escaped" first: `Hello world` becomes `Hello▁world`; there is
//!   no pre-tokenizer, the whole fragment is one word;
//! - a character no token covers becomes its UTF-8 bytes, each as the token
//!   `<0xNN>` ("byte fallback"), so nothing is lost.
//!
//! The algorithm is llama.cpp's `llm_tokenizer_spm_session::tokenize`
//! (`src/llama-vocab.cpp`): a linked list of symbols and a priority queue of
//! candidate pairs, best score first, leftmost on a tie.

use crate::TokenId;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// SentencePiece's stand-in for a space.
pub const SPACE: char = '▁';

/// `Hello world` -> `Hello▁world` (llama.cpp's `llama_escape_whitespace`:
/// only U+0020 is replaced; tabs and newlines stay).
pub fn escape_whitespace(text: &str) -> String {
    text.replace(' ', "▁")
}

#[derive(Debug, Clone)]
pub struct Spm {
    /// id -> score (`tokenizer.ggml.scores`; 0 where the file has none).
    scores: Vec<f32>,
    /// The token for each byte: `<0xNN>`, or else the byte as a one-byte
    /// string (llama.cpp's `byte_to_token`). `None`: the vocabulary has
    /// neither, the byte is dropped.
    byte_tokens: [Option<TokenId>; 256],
}

/// A candidate merge of symbols `left` and `right` into a token of `score`,
/// `size` bytes long.
#[derive(Debug, PartialEq)]
struct Pair {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl Eq for Pair {}
impl Ord for Pair {
    /// The heap pops the greatest: the highest score, then the leftmost
    /// (llama.cpp's `llm_bigram_spm::comparator`).
    fn cmp(&self, other: &Self) -> Ordering {
        // `partial_cmp`, not `total_cmp`: like C++'s `<`, 0.0 and -0.0 tie.
        self.score
            .partial_cmp(&other.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| other.left.cmp(&self.left))
    }
}
impl PartialOrd for Pair {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One symbol of the word being merged: `text[start..start + len]`, linked to
/// its neighbours (`usize::MAX` = none). `len == 0`: merged away.
#[derive(Debug, Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: usize,
    next: usize,
}

const NONE: usize = usize::MAX;

impl Spm {
    pub fn new(token_ids: &HashMap<String, TokenId>, scores: Vec<f32>) -> Spm {
        let mut byte_tokens = [None; 256];
        for (b, slot) in byte_tokens.iter_mut().enumerate() {
            let hex = format!("<0x{b:02X}>");
            *slot = token_ids.get(&hex).copied().or_else(|| {
                // Only an ASCII byte is a valid one-byte string.
                let c = char::from_u32(b as u32).filter(char::is_ascii)?;
                token_ids.get(c.encode_utf8(&mut [0; 4]) as &str).copied()
            });
        }
        Spm {
            scores,
            byte_tokens,
        }
    }

    /// Append the tokens of `text` (already escaped: spaces as `▁`).
    pub fn encode(&self, text: &str, token_ids: &HashMap<String, TokenId>, out: &mut Vec<TokenId>) {
        // One symbol per character.
        let mut symbols: Vec<Symbol> = text
            .char_indices()
            .map(|(start, c)| Symbol {
                start,
                len: c.len_utf8(),
                prev: NONE,
                next: NONE,
            })
            .collect();
        let n = symbols.len();
        for (i, s) in symbols.iter_mut().enumerate() {
            s.prev = if i == 0 { NONE } else { i - 1 };
            s.next = if i + 1 == n { NONE } else { i + 1 };
        }

        // The pair (left, right), if their text together is a token.
        let pair = |symbols: &[Symbol], left: usize, right: usize| -> Option<Pair> {
            if left == NONE || right == NONE {
                return None;
            }
            let (l, r) = (symbols[left], symbols[right]);
            let joined = &text[l.start..r.start + r.len];
            let id = *token_ids.get(joined)?;
            Some(Pair {
                score: self.scores.get(id as usize).copied().unwrap_or(0.0),
                left,
                right,
                size: joined.len(),
            })
        };
        let mut queue: BinaryHeap<Pair> = (1..n).filter_map(|i| pair(&symbols, i - 1, i)).collect();

        // ANCHOR: spm_merge
        while let Some(best) = queue.pop() {
            let (l, r) = (symbols[best.left], symbols[best.right]);
            // Skip a pair that an earlier merge changed.
            if l.len == 0 || r.len == 0 || l.len + r.len != best.size {
                continue;
            }
            // The right symbol joins the left one and leaves the list.
            symbols[best.left].len += r.len;
            symbols[best.right].len = 0;
            symbols[best.left].next = r.next;
            if r.next != NONE {
                symbols[r.next].prev = best.left;
            }
            // The merged symbol may now pair with its neighbours.
            let prev = symbols[best.left].prev;
            let next = symbols[best.left].next;
            queue.extend(pair(&symbols, prev, best.left));
            queue.extend(pair(&symbols, best.left, next));
        }
        // ANCHOR_END: spm_merge

        // Each symbol left is a token, or (a character no token covers) its bytes.
        let mut i = if n == 0 { NONE } else { 0 };
        while i != NONE {
            let s = symbols[i];
            let piece = &text[s.start..s.start + s.len];
            match token_ids.get(piece) {
                Some(&id) => out.push(id),
                None => out.extend(piece.bytes().filter_map(|b| self.byte_tokens[b as usize])),
            }
            i = s.next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy vocabulary: three byte tokens and a few scored pieces.
    fn toy() -> (HashMap<String, TokenId>, Spm) {
        let entries = [
            ("<0xC3>", 0.0),
            ("<0xA9>", 0.0),
            ("a", -1.0),
            ("b", -1.0),
            ("c", -1.0),
            ("▁", -1.0),
            ("ab", -2.0),
            ("bc", -1.5),
            ("bca", -3.0),
            ("▁a", -0.5),
        ];
        let ids = entries
            .iter()
            .enumerate()
            .map(|(i, (t, _))| (t.to_string(), i as TokenId))
            .collect();
        let scores = entries.iter().map(|(_, s)| *s).collect();
        let spm = Spm::new(&ids, scores);
        (ids, spm)
    }

    fn encode(text: &str) -> Vec<String> {
        let (ids, spm) = toy();
        let mut out = vec![];
        spm.encode(&escape_whitespace(text), &ids, &mut out);
        let names: HashMap<TokenId, &String> = ids.iter().map(|(s, &i)| (i, s)).collect();
        out.iter().map(|i| names[i].to_string()).collect()
    }

    #[test]
    fn the_best_scored_pair_merges_first() {
        // "bc" (-1.5) beats "ab" (-2.0); then "a"+"bc" is not a token.
        assert_eq!(encode("abc"), ["a", "bc"]);
        // A low score still merges when nothing better is left.
        assert_eq!(encode("bca"), ["bca"]);
        assert_eq!(encode("ab"), ["ab"]);
        assert_eq!(encode(" a"), ["▁a"]);
        assert_eq!(encode(" ab"), ["▁a", "b"]);
    }

    #[test]
    fn unknown_characters_fall_back_to_bytes() {
        // 'é' is C3 A9; 'x' has neither a token nor a byte token: dropped.
        assert_eq!(encode("aéx"), ["a", "<0xC3>", "<0xA9>"]);
        assert_eq!(encode(""), Vec::<String>::new());
    }
}
