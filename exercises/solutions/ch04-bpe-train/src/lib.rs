//! Chapter 4 exercise: learn the merges of a byte-level BPE tokenizer.
//!
//! Training starts from 256 tokens, one per byte: token `b` is byte `b`.
//! The text is cut into words first (by the same pre-tokenizer that
//! encoding uses, so no merge crosses a word boundary), and each distinct
//! word comes with how often it occurs. Then, again and again:
//!
//! 1. count every pair of adjacent tokens inside the words; a word that
//!    occurs `count` times adds `count` to each of its pairs, and
//!    overlapping pairs all count (`a a a` holds the pair `a a` twice);
//! 2. take the most frequent pair; when several are equally frequent, the
//!    one with the smallest ids wins (compare the left ids, then the right
//!    ones), so that training gives the same result every time;
//! 3. stop if that pair occurs fewer than two times (merging it would only
//!    memorise), or when `n_merges` merges are learned;
//! 4. the pair becomes a token that spells the bytes of the two halves one
//!    after the other; it gets the next free id (256, 257, ...), except when
//!    a token already spells the same bytes (`a`+`bc` and `ab`+`c`): then it
//!    *is* that token;
//! 5. in every word, replace each occurrence of the pair by the new token,
//!    from left to right (`a a a` becomes `aa a`, not `a aa`).
//!
//! The merges, in the order they were learned, are the tokenizer.
//!
//! Check your work with `./check.sh ch04-bpe-train` (from `exercises/`).
//! The tests train on the repository's MIT license text and compare your
//! merges with those of `locallm_tokenizer::train_bpe`, the trainer of
//! `locallm train`.

/// One distinct word of the training text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Its tokens; at the start, its bytes (`b"the"` is `[116, 104, 101]`).
    pub ids: Vec<u32>,
    /// How often it occurs in the text.
    pub count: usize,
}

/// The merges learned from `words`, at most `n_merges`, in order; each is
/// the bytes of its left and right halves (`(b"a".to_vec(), b"b".to_vec())`).
pub fn learn_merges(words: Vec<Word>, n_merges: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    use std::collections::HashMap;

    let mut words = words;
    // id -> the bytes it spells, and back
    let mut spelled: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    let mut ids: HashMap<Vec<u8>, u32> = (0..=255u8).map(|b| (vec![b], b as u32)).collect();
    let mut merges = Vec::new();
    while merges.len() < n_merges {
        // 1. pair counts, weighted by word count
        let mut counts: HashMap<(u32, u32), usize> = HashMap::new();
        for w in &words {
            for p in w.ids.windows(2) {
                *counts.entry((p[0], p[1])).or_default() += w.count;
            }
        }
        // 2. the most frequent; on a tie the smaller pair of ids
        let best = counts
            .into_iter()
            .max_by(|(pa, na), (pb, nb)| na.cmp(nb).then(pb.cmp(pa)));
        // 3. nothing repeats
        let Some((pair, n)) = best else { break };
        if n < 2 {
            break;
        }
        // 4. the token that spells both halves
        let (left, right) = (
            spelled[pair.0 as usize].clone(),
            spelled[pair.1 as usize].clone(),
        );
        let joined = [left.as_slice(), &right].concat();
        let new_id = match ids.get(&joined) {
            Some(&id) => id,
            None => {
                let id = spelled.len() as u32;
                spelled.push(joined.clone());
                ids.insert(joined, id);
                id
            }
        };
        // 5. replace, left to right
        for w in &mut words {
            let mut out = Vec::with_capacity(w.ids.len());
            let mut i = 0;
            while i < w.ids.len() {
                if i + 1 < w.ids.len() && (w.ids[i], w.ids[i + 1]) == pair {
                    out.push(new_id);
                    i += 2;
                } else {
                    out.push(w.ids[i]);
                    i += 1;
                }
            }
            w.ids = out;
        }
        merges.push((left, right));
    }
    merges
}
