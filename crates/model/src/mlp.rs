//! The feed-forward block: SwiGLU.
//!
//! Two projections up to `ffn_dim`; one goes through SiLU and gates the other
//! element-wise; a third projection brings the result back to `d_model`:
//! `down(silu(gate(x)) * up(x))`.

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::activation::silu;

use crate::proj::Proj;

#[derive(Module, Debug)]
pub struct Mlp {
    pub gate: Proj, // [d_model, ffn_dim]
    pub up: Proj,   // [d_model, ffn_dim]
    pub down: Proj, // [ffn_dim, d_model]
}

impl Mlp {
    // ANCHOR: swiglu
    /// `x`: `[batch, seq, d_model]` → `[batch, seq, d_model]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [gate, up] = Proj::forward_many([&self.gate, &self.up], x); // [batch, seq, ffn_dim]
        self.down.forward(silu(gate) * up)
    }
    // ANCHOR_END: swiglu
}
