//! Hybrid retrieval: BM25's ranking and the embeddings' ranking, fused.
//!
//! The two fail differently. BM25 misses a paraphrase ("car" vs
//! "automobile"); embeddings miss a rare exact term (an error code, a
//! function name) that BM25 finds at once. Their scores are on unrelated
//! scales (BM25 is unbounded, cosine is in [-1, 1]), so they are not added;
//! their *ranks* are. Reciprocal rank fusion (Cormack, Clarke and Büttcher,
//! SIGIR 2009) gives each item, from every ranking it appears in,
//!
//! ```text
//! RRF(d) = Σ_rankings 1 / (k + rank(d))      rank from 1, k = 60
//! ```
//!
//! The constant `k` keeps the top of one list from outweighing everything:
//! first place is worth 1/61, tenth 1/70, so an item ranked well by both
//! beats one ranked first by one and absent from the other. 60 is the value
//! the paper found to work across collections; nobody tunes it.

use std::collections::HashMap;

/// The paper's constant.
pub const RRF_K: f64 = 60.0;

// ANCHOR: rrf
/// Fuses rankings (item ids, best first) into one, best first, with each
/// item's fused score. Ties go to the smaller id, so the result is
/// reproducible.
pub fn reciprocal_rank_fusion(rankings: &[&[usize]], k: f64) -> Vec<(usize, f64)> {
    let mut scores: HashMap<usize, f64> = HashMap::new();
    for ranking in rankings {
        for (i, &item) in ranking.iter().enumerate() {
            let rank = (i + 1) as f64;
            *scores.entry(item).or_default() += 1.0 / (k + rank);
        }
    }
    let mut fused: Vec<(usize, f64)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused
}
// ANCHOR_END: rrf

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand from the formula with k = 60:
    /// BM25 ranks 7, 3, 9; dense ranks 3, 5, 7.
    ///   3: 1/62 + 1/61 = 0.032522…   (second, then first)
    ///   7: 1/61 + 1/63 = 0.032266…   (first, then third)
    ///   5:        1/62 = 0.016129…
    ///   9: 1/63        = 0.015873…
    /// So 3 beats 7 although 7 is BM25's best: both lists like 3.
    #[test]
    fn rrf_matches_the_formula_by_hand() {
        let fused = reciprocal_rank_fusion(&[&[7, 3, 9], &[3, 5, 7]], RRF_K);
        let ids: Vec<usize> = fused.iter().map(|&(id, _)| id).collect();
        assert_eq!(ids, [3, 7, 5, 9]);
        let want = [
            1.0 / 62.0 + 1.0 / 61.0,
            1.0 / 61.0 + 1.0 / 63.0,
            1.0 / 62.0,
            1.0 / 63.0,
        ];
        for ((_, got), want) in fused.iter().zip(want) {
            assert!((got - want).abs() < 1e-15, "{got} != {want}");
        }
    }

    #[test]
    fn ties_go_to_the_smaller_id_and_k_flattens() {
        // 4 and 2 each get one first place: equal, 2 first
        let fused = reciprocal_rank_fusion(&[&[4], &[2]], RRF_K);
        assert_eq!(fused[0].0, 2);
        // k = 60: two second places (2/62) beat one first place (1/61) ...
        let fused = reciprocal_rank_fusion(&[&[1, 2], &[3, 2]], RRF_K);
        assert_eq!(fused[0].0, 2);
        // ... k = 0: they only tie it (1/2 + 1/2 = 1/1), the smaller id first
        let fused = reciprocal_rank_fusion(&[&[1, 2], &[3, 2]], 0.0);
        let ids: Vec<usize> = fused.iter().map(|&(id, _)| id).collect();
        assert_eq!(ids, [1, 2, 3]);
    }
}
