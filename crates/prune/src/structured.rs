//! Structured pruning: remove whole FFN channels and whole attention heads.
//!
//! An FFN channel `c` is row `c` of gate and up and column `c` of down; drop
//! all three and `ffn_dim` shrinks by one. A query head is `head_dim` rows of
//! q and as many columns of o. With grouped-query attention, heads come in
//! groups that share one key/value head, and every group must stay the same
//! size; so heads go a whole KV group at a time (its query heads, its k and v
//! rows, its o columns). Every layer loses the same number, so the model keeps
//! one `head_count` and one `feed_forward_length` (llama.cpp needs that).
//!
//! The matrices really shrink: the pruned model is smaller and faster with the
//! ordinary dense kernels, no sparse format needed.
//!
//! A unit's importance is the sum of the scores of the weights that carry its
//! output into the residual stream (down's column for a channel, o's columns
//! for a head group), with either score: `|W|` or Wanda's `|W|·‖X‖`.

use burn::tensor::{Int, Tensor, TensorData};
use locallm_model::llama::Block;

use crate::calibrate::InputNorms;
use crate::matrices::Matrix;
use crate::{PruneError, Score, TensorReport, score};

/// How many of `n` units a fraction removes: the nearest whole number.
pub fn n_removed(n: usize, fraction: f64) -> usize {
    (n as f64 * fraction).round() as usize
}

/// Removes `fraction` of the FFN channels and of the KV head groups of `block`.
pub fn prune_block(
    block: &mut Block,
    layer: usize,
    score: Score,
    fraction: f64,
    norms: Option<&InputNorms>,
) -> Result<Vec<TensorReport>, PruneError> {
    let before: Vec<[usize; 2]> = Matrix::ALL.iter().map(|p| p.rows(block).dims()).collect();
    let kv_groups = block.attn.n_kv_heads;
    let remove = n_removed(kv_groups, fraction);
    if remove >= kv_groups {
        return Err(PruneError::TooManyHeads {
            fraction,
            kv_groups,
        });
    }
    let (ffn, o) = match (score, norms) {
        (Score::Wanda, None) => return Err(PruneError::NeedsCalibration),
        (Score::Wanda, Some(n)) => (Some(n.down.clone()), Some(n.attn_output.clone())),
        (Score::Magnitude, _) => (None, None),
    };
    remove_ffn_channels(block, n_removed(block.mlp.up.dims().1, fraction), ffn);
    remove_kv_groups(block, remove, o);
    let reports = Matrix::ALL
        .iter()
        .zip(before)
        .map(|(p, shape_before)| TensorReport {
            name: p.tensor_name(layer),
            shape_before,
            shape: p.rows(block).dims(),
            zeros: 0,
        });
    Ok(reports.collect())
}

/// Each column's total score: `w` `[d_out, d_in]` → `[d_in]`.
fn column_importance(w: Tensor<2>, input_norms: Option<Tensor<1>>) -> Tensor<1> {
    let [_, d_in] = w.dims();
    let scores = match input_norms {
        Some(norms) => score::wanda(w, norms),
        None => score::magnitude(w),
    };
    scores.sum_dim(0).reshape([d_in])
}

// ANCHOR: remove_ffn_channels
/// Drops the `remove` FFN channels whose down column matters least.
fn remove_ffn_channels(block: &mut Block, remove: usize, down_norms: Option<Tensor<1>>) {
    let down = Matrix::Down.rows(block); // [d_model, ffn]
    let importance = column_importance(down.clone(), down_norms); // [ffn]
    let keep = keep_largest(importance, down.dims()[1] - remove);
    let keep = index_tensor(&keep, &down.device());
    let gate = Matrix::Gate.rows(block).select(0, keep.clone()); // [ffn', d_model]
    let up = Matrix::Up.rows(block).select(0, keep.clone()); // [ffn', d_model]
    Matrix::Gate.set_rows(block, gate);
    Matrix::Up.set_rows(block, up);
    Matrix::Down.set_rows(block, down.select(1, keep)); // [d_model, ffn']
}
// ANCHOR_END: remove_ffn_channels

// ANCHOR: remove_kv_groups
/// Drops the `remove` KV groups (a key/value head and the query heads that
/// read it) whose columns of o matter least.
fn remove_kv_groups(block: &mut Block, remove: usize, o_norms: Option<Tensor<1>>) {
    let (heads, groups, hd) = (
        block.attn.n_heads,
        block.attn.n_kv_heads,
        block.attn.head_dim,
    );
    let per_group = heads / groups; // query heads per KV head
    let o = Matrix::O.rows(block); // [d_model, heads * hd]
    // query head j is o's columns j*hd..(j+1)*hd and reads KV head j / per_group
    let importance = column_importance(o.clone(), o_norms).reshape([groups, per_group * hd]);
    let kept = keep_largest(importance.sum_dim(1).reshape([groups]), groups - remove);
    let q_rows: Vec<usize> = kept
        .iter()
        .flat_map(|g| g * per_group * hd..(g + 1) * per_group * hd)
        .collect();
    let kv_rows: Vec<usize> = kept.iter().flat_map(|g| g * hd..(g + 1) * hd).collect();
    let (q_rows, kv_rows) = (
        index_tensor(&q_rows, &o.device()),
        index_tensor(&kv_rows, &o.device()),
    );
    for (proj, rows) in [
        (Matrix::Q, &q_rows),
        (Matrix::K, &kv_rows),
        (Matrix::V, &kv_rows),
    ] {
        let w = proj.rows(block).select(0, rows.clone()); // [kept rows, d_model]
        proj.set_rows(block, w);
    }
    Matrix::O.set_rows(block, o.select(1, q_rows)); // [d_model, heads' * hd]
    block.attn.n_kv_heads = kept.len();
    block.attn.n_heads = kept.len() * per_group;
}
// ANCHOR_END: remove_kv_groups

/// The indices of the `keep` largest values, in increasing index order (the
/// survivors keep their relative order).
fn keep_largest(values: Tensor<1>, keep: usize) -> Vec<usize> {
    let values = values
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data");
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order.truncate(keep);
    order.sort_unstable();
    order
}

fn index_tensor(indices: &[usize], device: &burn::tensor::Device) -> Tensor<1, Int> {
    let ids: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(ids, [indices.len()]), device)
}
