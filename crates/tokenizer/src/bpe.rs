//! Byte-level BPE: turn one pre-tokenized word into token ids.
//!
//! Training BPE started from the 256 bytes and repeatedly glued the most
//! frequent adjacent pair into a new token; `tokenizer.ggml.merges` is the
//! list of those glue steps, in the order they were learned (`"Ġ t"` first,
//! so ` t` is the most common pair in the training text). Encoding replays
//! that history on a word: split it into bytes, then keep applying the
//! earliest-learned merge that is possible, until none applies.

use crate::bytes::ByteMap;
use crate::{TokenId, TokenizerError};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Stands for a byte that has no token of its own (SmolLM2 has none for
/// 0x04, for example). It merges with nothing and is dropped at the end,
/// which is what llama.cpp does with such bytes.
const NO_TOKEN: TokenId = TokenId::MAX;

#[derive(Debug, Clone)]
pub struct Bpe {
    /// `(left, right)` -> (rank = position in the merges list, merged token).
    merges: HashMap<(TokenId, TokenId), (u32, TokenId)>,
    /// The token of each byte's stand-in character, if the vocabulary has one.
    byte_tokens: [TokenId; 256],
}

impl Bpe {
    /// `merges` are `"left right"` strings, first = highest priority, over the
    /// byte-level strings in `token_ids`.
    pub fn new(
        token_ids: &HashMap<String, TokenId>,
        merges: &[&str],
        bytes: &ByteMap,
    ) -> Result<Self, TokenizerError> {
        let mut byte_tokens = [NO_TOKEN; 256];
        for (b, slot) in byte_tokens.iter_mut().enumerate() {
            let stand_in = bytes.char_of(b as u8).to_string();
            if let Some(&id) = token_ids.get(&stand_in) {
                *slot = id;
            }
        }

        let mut table = HashMap::with_capacity(merges.len());
        for (rank, merge) in merges.iter().enumerate() {
            let bad = || TokenizerError::BadMerge {
                rank,
                merge: merge.to_string(),
            };
            // Split at the first space after the first character, as llama.cpp does.
            let split = merge.char_indices().skip(1).find(|&(_, c)| c == ' ');
            let (left, right) = match split {
                Some((at, _)) => (&merge[..at], &merge[at + 1..]),
                None => return Err(bad()),
            };
            let id = |s: &str| token_ids.get(s).copied().ok_or_else(bad);
            let merged = id(&format!("{left}{right}"))?;
            let rank = u32::try_from(rank).map_err(|_| bad())?;
            // A repeated pair keeps its first (best) rank.
            table
                .entry((id(left)?, id(right)?))
                .or_insert((rank, merged));
        }
        Ok(Bpe {
            merges: table,
            byte_tokens,
        })
    }

    /// The rank and result of merging `left` and `right`, if they merge.
    fn merge(&self, left: TokenId, right: TokenId) -> Option<(u32, TokenId)> {
        self.merges.get(&(left, right)).copied()
    }

    /// Append the tokens of one word (a piece from the pre-tokenizer): the
    /// definition of BPE encoding, as a plain loop. Each step scans all
    /// pairs, so a word of n bytes costs O(n²); [`Bpe::encode_word`] gives
    /// the same tokens in O(n log n).
    pub fn encode_word_ref(&self, word: &str, out: &mut Vec<TokenId>) {
        // Start from one token per byte.
        let mut parts: Vec<TokenId> = word.bytes().map(|b| self.byte_tokens[b as usize]).collect();

        // ANCHOR: merge_step
        loop {
            // Among all adjacent pairs, find the one merged earliest in
            // training (lowest rank); on a tie, the leftmost.
            let best = parts
                .windows(2)
                .enumerate()
                .filter_map(|(i, pair)| {
                    let (rank, merged) = self.merge(pair[0], pair[1])?;
                    Some((rank, i, merged))
                })
                .min();
            let Some((_, i, merged)) = best else {
                break; // no pair can be merged: the word is done
            };
            // Replace the pair by the merged token.
            parts[i] = merged;
            parts.remove(i + 1);
        }
        // ANCHOR_END: merge_step

        out.extend(parts.into_iter().filter(|&id| id != NO_TOKEN));
    }

    /// Append the tokens of one word; the same result as
    /// [`Bpe::encode_word_ref`], but fast on long words (a run of 100 000
    /// spaces is one word). This is llama.cpp's method: the word is a linked
    /// list, so a merge is O(1), and candidate merges wait in a priority
    /// queue, so the best one is found in O(log n).
    pub fn encode_word(&self, word: &str, out: &mut Vec<TokenId>) {
        // Symbol i is token ids[i], between symbols prev[i] and next[i]
        // (an index >= n means none).
        let mut ids: Vec<TokenId> = word.bytes().map(|b| self.byte_tokens[b as usize]).collect();
        let n = ids.len();
        let mut next: Vec<usize> = (1..=n).collect();
        let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect();

        // The merge of symbols `left` and `right`, if both exist and merge.
        let merge_at = |ids: &[TokenId], left: usize, right: usize| {
            (left < n && right < n)
                .then(|| self.merge(ids[left], ids[right]))
                .flatten()
        };
        // Candidates (rank, left symbol); `Reverse` makes the heap pop the
        // lowest rank first and, on a tie, the leftmost.
        let mut queue = BinaryHeap::new();
        for left in 0..n.saturating_sub(1) {
            if let Some((rank, _)) = merge_at(&ids, left, left + 1) {
                queue.push(Reverse((rank, left)));
            }
        }

        // ANCHOR: merge_queue
        while let Some(Reverse((rank, left))) = queue.pop() {
            let right = next[left];
            // An earlier merge may have changed this pair: then skip it. (A
            // rank names exactly one pair: same rank, same pair.)
            let merged = match merge_at(&ids, left, right) {
                Some((current, merged)) if current == rank => merged,
                _ => continue,
            };
            // Merge: `left` becomes the pair, `right` leaves the list.
            ids[left] = merged;
            ids[right] = NO_TOKEN; // merges with nothing from now on
            next[left] = next[right];
            if next[right] < n {
                prev[next[right]] = left;
            }
            // `left` now pairs up with new neighbours.
            for (l, r) in [(prev[left], left), (left, next[left])] {
                if let Some((rank, _)) = merge_at(&ids, l, r) {
                    queue.push(Reverse((rank, l)));
                }
            }
        }
        // ANCHOR_END: merge_queue

        let mut i = 0;
        while i < n {
            if ids[i] != NO_TOKEN {
                out.push(ids[i]);
            }
            i = next[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy vocabulary: the bytes of "abc " plus merges "a b" -> "ab", "ab c" -> "abc".
    fn toy() -> (HashMap<String, TokenId>, Bpe) {
        let bytes = ByteMap::new();
        let words = ["a", "b", "c", "Ġ", "ab", "abc", "Ġa"];
        let ids: HashMap<String, TokenId> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.to_string(), i as TokenId))
            .collect();
        let bpe = Bpe::new(&ids, &["a b", "ab c", "Ġ a"], &bytes).unwrap();
        (ids, bpe)
    }

    fn encode(bpe: &Bpe, ids: &HashMap<String, TokenId>, word: &str) -> Vec<String> {
        let (mut out, mut simple) = (vec![], vec![]);
        bpe.encode_word(word, &mut out);
        bpe.encode_word_ref(word, &mut simple);
        assert_eq!(out, simple, "{word:?}");
        let names: HashMap<TokenId, &String> = ids.iter().map(|(s, &i)| (i, s)).collect();
        out.iter().map(|i| names[i].to_string()).collect()
    }

    #[test]
    fn merges_apply_in_rank_order() {
        let (ids, bpe) = toy();
        assert_eq!(encode(&bpe, &ids, "abc"), ["abc"]);
        assert_eq!(encode(&bpe, &ids, "cab"), ["c", "ab"]);
        // "a b" (rank 0) beats "Ġ a" (rank 2): " ab" is "Ġ" + "ab", not "Ġa" + "b".
        assert_eq!(encode(&bpe, &ids, " ab"), ["Ġ", "ab"]);
        assert_eq!(encode(&bpe, &ids, " a"), ["Ġa"]);
        // Overlapping candidates: the leftmost pair wins.
        assert_eq!(encode(&bpe, &ids, "aab"), ["a", "ab"]);
    }

    #[test]
    fn bytes_without_a_token_are_dropped_and_block_merges() {
        let (ids, bpe) = toy();
        // 'x' has no token: it vanishes, and "a" and "b" around it stay apart.
        assert_eq!(encode(&bpe, &ids, "axb"), ["a", "b"]);
    }

    #[test]
    fn malformed_merges_are_errors() {
        let bytes = ByteMap::new();
        let ids: HashMap<String, TokenId> = [("a".to_string(), 0), ("b".to_string(), 1)].into();
        for bad in ["ab", "a b", "a q"] {
            let err = Bpe::new(&ids, &[bad], &bytes).unwrap_err();
            assert!(
                matches!(err, TokenizerError::BadMerge { rank: 0, .. }),
                "{bad}: {err}"
            );
        }
    }
}
