//! Chapter 26 exercise: LoRA by hand.
//!
//! A LoRA adapter sits next to a frozen weight `W` and adds a low-rank update:
//!
//! ```text
//! y = x·W + scale · (x·A)·B        A: [d_in, r], B: [r, d_out], scale = alpha / r
//! ```
//!
//! All matrices here are plain row-major slices in *burn's* layout: `x` is
//! `[n, d_in]` (n rows of inputs), `W` is `[d_in, d_out]`. Three functions:
//!
//! - [`lora_forward`]: the adapted layer's output, computed as `(x·A)·B` — never
//!   forming the `d_in × d_out` matrix `A·B`;
//! - [`count_trainable`]: how many numbers an adapter config trains in a Llama;
//! - [`merge_peft`]: fold a saved PEFT adapter into a PyTorch/GGUF weight.
//!   PyTorch stores `W` as `[out, in]` rows and PEFT stores `lora_A` as
//!   `[r, in]` and `lora_B` as `[out, r]`, so the update there is
//!   `ΔW = scale · lora_B · lora_A`, of shape `[out, in]`.
//!
//! Check your work with `./check.sh ch26-lora` (from `exercises/`): your
//! forward is compared with `locallm_model::Proj`, your count with the
//! adapters `locallm-lora` really attaches, and your merge with
//! `locallm_lora::merge` on an adapter saved to PEFT files.

/// `[n, d_out]`: `x·W + scale·(x·A)·B` for `x: [n, d_in]`, `w: [d_in, d_out]`,
/// `a: [d_in, r]`, `b: [r, d_out]`.
#[allow(clippy::too_many_arguments)]
pub fn lora_forward(
    x: &[f32],
    w: &[f32],
    a: &[f32],
    b: &[f32],
    n: usize,
    d_in: usize,
    d_out: usize,
    r: usize,
    scale: f32,
) -> Vec<f32> {
    // TODO: the frozen layer's output plus the scaled low-rank update, for
    //       every row of x, without ever forming A·B.
    let _ = (x, w, a, b, n, d_in, d_out, r, scale);
    todo!("the adapted layer's output")
}

/// The sizes of a Llama that matter for LoRA.
#[derive(Debug, Clone, Copy)]
pub struct Dims {
    pub n_layers: usize,
    pub d_model: usize,
    /// Width of q (and input of o): heads × head_dim.
    pub q_dim: usize,
    /// Width of k and v: kv_heads × head_dim.
    pub kv_dim: usize,
    pub ffn_dim: usize,
}

/// Trainable numbers of rank-`r` adapters on `targets` (any of `q`, `k`, `v`,
/// `o`, `gate`, `up`, `down`) in every layer.
pub fn count_trainable(dims: Dims, r: usize, targets: &[&str]) -> usize {
    // TODO: the numbers in A and B of every adapted matrix, over all layers
    //       (what are the input and output widths of each target?).
    let _ = (dims, r, targets);
    todo!("the adapter's parameter count")
}

/// `W + scale · lora_B · lora_A` for `w_rows: [out, in]`,
/// `lora_a: [r, in]`, `lora_b: [out, r]`.
pub fn merge_peft(
    w_rows: &[f32],
    lora_a: &[f32],
    lora_b: &[f32],
    d_out: usize,
    d_in: usize,
    r: usize,
    scale: f32,
) -> Vec<f32> {
    // TODO: W plus the scaled update, in PyTorch's [out, in] layout.
    let _ = (w_rows, lora_a, lora_b, d_out, d_in, r, scale);
    todo!("the merged weight")
}
