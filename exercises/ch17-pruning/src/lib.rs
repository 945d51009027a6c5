//! Chapter 17.3 exercise: the three masks of pruning, on plain slices.
//!
//! A pruning *mask* says, for every weight, whether it stays (`true`) or
//! becomes zero (`false`). It comes from a *score* per weight, and keeps the
//! highest scores inside some group:
//!
//! - **magnitude**: score `|w|`; the group is the whole matrix, so one
//!   threshold decides for every weight of it. A fraction `sparsity` of the
//!   weights goes: `floor(n · sparsity)` of the `n` weights, the smallest |w|.
//! - **Wanda**: score `|w_j| · ‖X_j‖₂`, the weight times the size of its input
//!   `j` over the calibration tokens: `‖X_j‖₂ = sqrt(Σ_t x_tj²)`. The group is
//!   one output row.
//! - **2:4**: in every run of 4 consecutive weights of a row, keep the 2 with
//!   the highest score (here |w|), zero the other 2.
//!
//! Check your work with `./check.sh ch17-pruning` (from `exercises/`). The
//! tests compare your masks and scores with `locallm-prune`'s, which the
//! book's pruning table was made with.

/// Magnitude pruning of one matrix, flattened: `false` for the
/// `floor(w.len() · sparsity)` weights of smallest |w|, `true` for the rest.
/// The weights' absolute values are all different.
pub fn magnitude_mask(w: &[f32], sparsity: f64) -> Vec<bool> {
    // TODO: the `sparsity` share of the weights with the smallest magnitude go.
    let _ = (w, sparsity);
    todo!("the magnitude mask")
}

/// Wanda's score for one output row `row` (`d_in` weights), given the
/// calibration inputs `x`: `tokens` rows of `d_in` numbers, row-major
/// (`x[t * d_in + j]` is input `j` of token `t`). Returns `d_in` scores.
pub fn wanda_row_scores(row: &[f32], x: &[f32]) -> Vec<f32> {
    // TODO: |w_j| times the size of input j over all tokens (the chapter's Wanda
    //       score).
    let _ = (row, x);
    todo!("|w_j| times the norm of input j")
}

/// The 2:4 mask of one row (its length a multiple of 4): in each group of 4
/// consecutive weights, `true` for the 2 of largest |w|. The absolute values
/// inside a group are all different.
pub fn mask_2_4(row: &[f32]) -> Vec<bool> {
    // TODO: in every group of four, the two of smallest magnitude go.
    let _ = row;
    todo!("two of every four")
}
