//! The seven matrices of a transformer block, seen as `[d_out, d_in]` rows.
//!
//! burn's `Linear` keeps `W` as `[d_in, d_out]` (it computes `x · W`); the
//! pruning papers, PyTorch and GGUF write it `[d_out, d_in]`, one row per
//! output neuron. Pruning works on rows ("per output"), so every function in
//! this crate takes and returns the row view, and the transpose happens here.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::Tensor;
use locallm_model::Proj;
use locallm_model::llama::Block;

use crate::calibrate::InputNorms;

/// One of a block's linear layers, named as in GGUF (`blk.N.<name>.weight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matrix {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Matrix {
    pub const ALL: [Matrix; 7] = [
        Matrix::Q,
        Matrix::K,
        Matrix::V,
        Matrix::O,
        Matrix::Gate,
        Matrix::Up,
        Matrix::Down,
    ];

    /// The GGUF name: `attn_q`, ..., `ffn_down`.
    pub fn gguf_name(self) -> &'static str {
        match self {
            Matrix::Q => "attn_q",
            Matrix::K => "attn_k",
            Matrix::V => "attn_v",
            Matrix::O => "attn_output",
            Matrix::Gate => "ffn_gate",
            Matrix::Up => "ffn_up",
            Matrix::Down => "ffn_down",
        }
    }

    /// `blk.{layer}.{name}.weight`.
    pub fn tensor_name(self, layer: usize) -> String {
        format!("blk.{layer}.{}.weight", self.gguf_name())
    }

    /// The inverse of [`Matrix::tensor_name`].
    pub fn parse_tensor_name(name: &str) -> Option<(usize, Matrix)> {
        let rest = name.strip_prefix("blk.")?.strip_suffix(".weight")?;
        let (layer, proj) = rest.split_once('.')?;
        let proj = Matrix::ALL.into_iter().find(|p| p.gguf_name() == proj)?;
        Some((layer.parse().ok()?, proj))
    }

    pub fn proj(self, block: &Block) -> &Proj {
        match self {
            Matrix::Q => &block.attn.q,
            Matrix::K => &block.attn.k,
            Matrix::V => &block.attn.v,
            Matrix::O => &block.attn.o,
            Matrix::Gate => &block.mlp.gate,
            Matrix::Up => &block.mlp.up,
            Matrix::Down => &block.mlp.down,
        }
    }

    fn proj_mut(self, block: &mut Block) -> &mut Proj {
        match self {
            Matrix::Q => &mut block.attn.q,
            Matrix::K => &mut block.attn.k,
            Matrix::V => &mut block.attn.v,
            Matrix::O => &mut block.attn.o,
            Matrix::Gate => &mut block.mlp.gate,
            Matrix::Up => &mut block.mlp.up,
            Matrix::Down => &mut block.mlp.down,
        }
    }

    /// The weight as rows: `[d_out, d_in]`.
    pub fn rows(self, block: &Block) -> Tensor<2> {
        rows(self.proj(block))
    }

    /// Replaces the weight with `w` given as rows, `[d_out, d_in]`.
    pub fn set_rows(self, block: &mut Block, w: Tensor<2>) {
        *self.proj_mut(block) = from_rows(w);
    }

    /// `‖X_j‖₂` of this matrix's input, `[d_in]`.
    pub fn input_norms(self, norms: &InputNorms) -> Tensor<1> {
        match self {
            Matrix::Q | Matrix::K | Matrix::V => norms.attn.clone(),
            Matrix::O => norms.attn_output.clone(),
            Matrix::Gate | Matrix::Up => norms.mlp.clone(),
            Matrix::Down => norms.down.clone(),
        }
    }
}

/// burn's `[d_in, d_out]` weight as `[d_out, d_in]` rows. (A LoRA adapter,
/// if any, is not part of the weight: prune a merged model.)
pub fn rows(proj: &Proj) -> Tensor<2> {
    proj.base_weight().transpose()
}

/// A dense, bias-free projection from `[d_out, d_in]` rows.
pub fn from_rows(w: Tensor<2>) -> Proj {
    Proj::dense(Linear {
        weight: Param::from_tensor(w.transpose()),
        bias: None,
    })
}
