//! Masks: which weights stay (1) and which become zero (0), chosen from scores.
//!
//! All three masks are the same idea: rank the scores inside a comparison
//! group and keep the largest. They differ only in the group:
//! - the whole matrix: one threshold per matrix (magnitude pruning);
//! - one output row: every output neuron keeps the same number of inputs (Wanda);
//! - `M` consecutive weights of a row: at most `N` of them stay (N:M, the
//!   pattern sparse tensor cores can skip, e.g. 2:4).
//!
//! Matrices here are `[d_out, d_in]`, one row per output neuron, the
//! orientation of the papers and of GGUF (burn's `Linear` holds the transpose).

use burn::tensor::{Int, Tensor};

use crate::PruneError;

/// How many of `n` weights a fraction `sparsity` removes (rounded down, as the
/// Wanda reference code does with `int(n * sparsity)`).
pub fn n_pruned(n: usize, sparsity: f64) -> usize {
    (n as f64 * sparsity).floor() as usize
}

// ANCHOR: ranks
/// The rank of each score inside its group along `dim`: 0 for the smallest,
/// `len - 1` for the largest. `argsort` gives, for each rank, the position
/// that holds it; sorting those positions gives back each position's rank.
/// Ties get distinct ranks, so a mask always prunes exactly the count asked.
fn ranks<const D: usize>(scores: Tensor<D>, dim: usize) -> Tensor<D, Int> {
    scores.argsort(dim).argsort(dim)
}
// ANCHOR_END: ranks

// ANCHOR: mask_per_matrix
/// Magnitude pruning's mask: zero the `sparsity` fraction of smallest scores
/// of the whole matrix. `scores`: `[d_out, d_in]` → mask of 0/1, same shape.
pub fn mask_per_matrix(scores: Tensor<2>, sparsity: f64) -> Tensor<2> {
    let [rows, cols] = scores.dims();
    let pruned = n_pruned(rows * cols, sparsity);
    let flat = scores.reshape([rows * cols]); // one group: every weight
    let keep = ranks(flat, 0).greater_equal_elem(pruned as i64);
    keep.float().reshape([rows, cols])
}
// ANCHOR_END: mask_per_matrix

// ANCHOR: mask_per_row
/// Wanda's mask: in every output row, zero the `sparsity` fraction of
/// smallest scores. `scores`: `[d_out, d_in]` → mask of 0/1, same shape.
pub fn mask_per_row(scores: Tensor<2>, sparsity: f64) -> Tensor<2> {
    let [_, cols] = scores.dims();
    let pruned = n_pruned(cols, sparsity);
    ranks(scores, 1).greater_equal_elem(pruned as i64).float()
}
// ANCHOR_END: mask_per_row

// ANCHOR: mask_n_m
/// N:M mask: in every run of `m` consecutive weights of a row, keep the `n`
/// largest scores. `scores`: `[d_out, d_in]` with `d_in` a multiple of `m`.
pub fn mask_n_m(scores: Tensor<2>, n: usize, m: usize) -> Result<Tensor<2>, PruneError> {
    let [rows, cols] = scores.dims();
    check_n_m(n, m)?;
    if !cols.is_multiple_of(m) {
        return Err(PruneError::NmShape { n, m, cols });
    }
    let groups = scores.reshape([rows, cols / m, m]); // [d_out, d_in/m, m]
    let keep = ranks(groups, 2).greater_equal_elem((m - n) as i64);
    Ok(keep.float().reshape([rows, cols]))
}
// ANCHOR_END: mask_n_m

/// `n` kept out of every `m`: `1 <= n < m`.
pub fn check_n_m(n: usize, m: usize) -> Result<(), PruneError> {
    if n == 0 || n >= m {
        return Err(PruneError::BadNm { n, m });
    }
    Ok(())
}

/// Checks a sparsity fraction: `[0, 1)` (1 would remove everything).
pub fn check_sparsity(sparsity: f64) -> Result<(), PruneError> {
    if !(0.0..1.0).contains(&sparsity) {
        return Err(PruneError::BadSparsity(sparsity));
    }
    Ok(())
}
