//! Chapter 24 exercise: reciprocal rank fusion.
//!
//! BM25 and embeddings each rank the chunks for a question. Their scores
//! cannot be added (BM25 is unbounded, cosine lies in [-1, 1]), but their
//! ranks can. Reciprocal rank fusion (Cormack et al., 2009) gives every item
//!
//! ```text
//! RRF(d) = Σ over the rankings that contain d of 1 / (k + rank(d))
//! ```
//!
//! where `rank` counts from 1 (the best item of a ranking has rank 1) and
//! `k` is a constant, 60 in the paper. An item missing from a ranking gets
//! nothing from it.
//!
//! Return every item that appears in any ranking, once, with its fused
//! score, best first; items with equal scores in increasing id order.
//!
//! Check your work with `./check.sh ch24-rrf` (from `exercises/`).

/// Fuses `rankings` (item ids, best first) into one ranking, best first.
pub fn reciprocal_rank_fusion(rankings: &[Vec<usize>], k: f64) -> Vec<(usize, f64)> {
    // TODO: add 1 / (k + rank) to each item's score for every ranking it is
    // in (rank from 1), then sort by score, highest first, ties by id.
    let _ = (rankings, k);
    todo!("fuse the rankings")
}
