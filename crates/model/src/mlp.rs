//! The feed-forward block: a gated MLP.
//!
//! Two projections up to `ffn_dim`; one goes through the activation and gates
//! the other element-wise; a third projection brings the result back to
//! `d_model`: `down(act(gate(x)) * up(x))`. With SiLU that is SwiGLU (Llama,
//! Qwen, Phi); with GELU, GeGLU (Gemma).

use burn::module::Module;
use burn::tensor::activation::{silu, tanh};
use burn::tensor::{Tensor, TensorData};
use half::f16;
use locallm_quant::kernels::{Gate, Kernels, gated_f32};

use crate::device::host_f32;
pub use crate::family::Activation;
use crate::proj::Proj;

#[derive(Module, Debug)]
pub struct Mlp {
    pub gate: Proj, // [d_model, ffn_dim]
    pub up: Proj,   // [d_model, ffn_dim]
    pub down: Proj, // [ffn_dim, d_model]
    #[module(skip)]
    pub activation: Activation,
    /// `Some(kernels)`: `act(gate)·up` runs fused on the CPU
    /// (`locallm_quant::kernels::gated_f32`), the fast path's arm, set by
    /// the quantized loader; `None`: as tensor operations (the plain path:
    /// any backend, and autodiff for training).
    #[module(skip)]
    pub fused: Option<Kernels>,
}

impl Mlp {
    // ANCHOR: swiglu
    /// `x`: `[batch, seq, d_model]` → `[batch, seq, d_model]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        // one parallel call for both matrices: they read the same x
        let [gate, up] = Proj::forward_many([&self.gate, &self.up], x); // [batch, seq, ffn_dim]
        let hidden = match (self.activation, self.fused) {
            (Activation::Silu, None) => silu(gate) * up,
            (Activation::GeluTanh, None) => gelu_tanh(gate) * up,
            (Activation::GeluTanhF16Table, _) => gelu_tanh_f16_table(gate) * up,
            // the fast path: one pass, SIMD exp (see `gated_f32`)
            (Activation::Silu, Some(kernels)) => gated(gate, up, Gate::Silu, kernels),
            (Activation::GeluTanh, Some(kernels)) => gated(gate, up, Gate::GeluTanh, kernels),
        };
        self.down.forward(hidden)
    }
    // ANCHOR_END: swiglu
}

/// `act(gate)·up` through the CPU kernel: `[batch, seq, ffn_dim]` twice →
/// `[batch, seq, ffn_dim]`.
fn gated(gate: Tensor<3>, up: Tensor<3>, act: Gate, kernels: Kernels) -> Tensor<3> {
    let (device, dims) = (gate.device(), gate.dims());
    let (mut gate, up) = (host_f32(gate), host_f32(up));
    gated_f32(&mut gate, &up, act, kernels);
    Tensor::from_data(TensorData::new(gate, dims), &device)
}

// ANCHOR: gelu_tanh
/// GELU's tanh approximation, `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`,
/// the form Gemma was trained with (`gelu_pytorch_tanh`) and ggml's `gelu`.
pub fn gelu_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let inner =
        (x.clone() + x.clone().powi_scalar(3).mul_scalar(0.044715)).mul_scalar(SQRT_2_OVER_PI);
    x.mul_scalar(0.5) * tanh(inner).add_scalar(1.0)
}
// ANCHOR_END: gelu_tanh

/// The same on one number: the plain reference.
pub fn gelu_tanh_ref(x: f32) -> f32 {
    0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044715 * x * x * x)).tanh())
}

// ANCHOR: gelu_f16_table
/// GELU as llama.cpp computes it on a CPU: ggml looks it up in a table
/// indexed by the input rounded to f16, whose entries are f16 too
/// (ggml-cpu/vec.h, `GGML_GELU_FP16`, `ggml_vec_geglu_f32`), and passes
/// inputs beyond ±10 through as x or 0. Its error, ~2⁻¹¹ relative, moves a
/// tiny Gemma's logits by ~2e-3; this twin is how the tests tell that
/// difference from a real one.
pub fn gelu_tanh_f16_table<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let (device, dims) = (x.device(), x.shape());
    let values = x.into_data().convert::<f32>();
    let values: Vec<f32> = values
        .as_slice::<f32>()
        .expect("f32 activations")
        .iter()
        .map(|&x| match x {
            x if x <= -10.0 => 0.0,
            x if x >= 10.0 => x,
            x => f16::from_f32(gelu_tanh_ref(f16::from_f32(x).to_f32())).to_f32(),
        })
        .collect();
    Tensor::from_data(TensorData::new(values, dims), &device)
}
// ANCHOR_END: gelu_f16_table
