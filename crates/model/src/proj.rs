//! The model's projections: a linear layer that fine-tuning can adapt.
//!
//! Every matrix inside a block (`q`, `k`, `v`, `o`, `gate`, `up`, `down`) is a
//! [`Proj`]: a frozen-or-trainable base weight `W`, plus an optional low-rank
//! adapter. Without an adapter it is exactly burn's `Linear`. With one it is
//! LoRA: `y = x·W + scale · (x·A)·B` (see `locallm-lora`). The base may also
//! be held in NF4 and dequantized on the fly (QLoRA), or left in the GGUF
//! file's blocks for fast CPU inference ([`QuantWeight`]). Inference code never
//! needs to know which: it calls `forward`.

use std::sync::Arc;

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Tensor, TensorData};
use locallm_quant::nf4::{Nf4Tensor, quantize_nf4};

use crate::quantized::QuantWeight;

/// One projection `[d_in] → [d_out]`.
#[derive(Module, Debug)]
pub struct Proj {
    pub base: Base,
    pub lora: Option<LoraAdapter>,
}

/// Where the base weight lives.
#[derive(Module, Debug)]
pub enum Base {
    /// burn's `Linear`, weight `[d_in, d_out]`.
    Dense(Linear),
    /// A frozen weight in double-quantized NF4, dequantized at each use.
    Nf4(Nf4Weight),
    /// A frozen weight left in its GGUF blocks, multiplied by SIMD kernels.
    Quantized(QuantWeight),
}

/// The two low-rank factors of a LoRA adapter and their scale.
#[derive(Module, Debug)]
pub struct LoraAdapter {
    /// `[d_in, r]`, random at the start of training.
    pub a: Param<Tensor<2>>,
    /// `[r, d_out]`, zero at the start of training.
    pub b: Param<Tensor<2>>,
    /// `alpha / r` (or `alpha / sqrt(r)` for rsLoRA).
    pub scale: f32,
}

impl Proj {
    /// A projection of `linear`, no adapter.
    pub fn dense(linear: Linear) -> Self {
        Proj {
            base: Base::Dense(linear),
            lora: None,
        }
    }

    /// A projection whose weight stays in quantized blocks, no adapter.
    pub fn quantized(weight: QuantWeight) -> Self {
        Proj {
            base: Base::Quantized(weight),
            lora: None,
        }
    }

    // ANCHOR: lora_forward
    /// `x`: `[batch, seq, d_in]` → `[batch, seq, d_out]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = match &self.base {
            Base::Dense(linear) => linear.forward(x.clone()),
            Base::Nf4(w) => x.clone().matmul(w.to_dense().unsqueeze()),
            Base::Quantized(w) => w.forward(x.clone()),
        };
        match &self.lora {
            None => y,
            // the low-rank path never forms the d_in × d_out matrix A·B:
            // [b, s, d_in]·[d_in, r] → [b, s, r]·[r, d_out] → [b, s, d_out]
            Some(lora) => {
                let down = x.matmul(lora.a.val().unsqueeze());
                y + down.matmul(lora.b.val().unsqueeze()).mul_scalar(lora.scale)
            }
        }
    }
    // ANCHOR_END: lora_forward

    /// [`forward`](Self::forward) of several projections of the same `x` (a
    /// layer's Q, K and V; gate and up): when all of them are weights in
    /// blocks without an adapter, one parallel kernel call for all.
    pub fn forward_many<const N: usize>(projs: [&Proj; N], x: Tensor<3>) -> [Tensor<3>; N] {
        let blocks = projs.map(|p| match (&p.base, &p.lora) {
            (Base::Quantized(w), None) => Some(w),
            _ => None,
        });
        if blocks.iter().all(Option::is_some) {
            QuantWeight::forward_many(blocks.map(|w| w.expect("all are blocks")), x)
        } else {
            projs.map(|p| p.forward(x.clone()))
        }
    }

    /// `(d_in, d_out)`.
    pub fn dims(&self) -> (usize, usize) {
        match &self.base {
            Base::Dense(linear) => {
                let [i, o] = linear.weight.dims();
                (i, o)
            }
            Base::Nf4(w) => (w.d_in, w.d_out),
            Base::Quantized(w) => (w.d_in, w.d_out),
        }
    }

    /// The base weight as a dense `[d_in, d_out]` tensor (dequantized if NF4).
    pub fn base_weight(&self) -> Tensor<2> {
        match &self.base {
            Base::Dense(linear) => linear.weight.val(),
            Base::Nf4(w) => w.to_dense(),
            Base::Quantized(w) => w.to_dense(),
        }
    }

    /// Bytes the base weight occupies at rest.
    pub fn base_bytes(&self) -> usize {
        match &self.base {
            Base::Dense(linear) => 4 * linear.weight.val().shape().num_elements(),
            Base::Nf4(w) => w.packed.storage_bytes(),
            Base::Quantized(w) => w.n_bytes(),
        }
    }
}

/// A frozen `[d_in, d_out]` weight kept as NF4 codes in host memory. It is
/// stored as PyTorch/GGUF rows `[d_out, d_in]`, so that its 64-weight blocks
/// run along the input dimension as bitsandbytes' do.
#[derive(Debug, Clone)]
pub struct Nf4Weight {
    pub packed: Arc<Nf4Tensor>,
    pub d_in: usize,
    pub d_out: usize,
    device: burn::tensor::Device,
}

impl Nf4Weight {
    /// Quantizes a dense `[d_in, d_out]` weight.
    pub fn quantize(weight: Tensor<2>) -> Self {
        let [d_in, d_out] = weight.dims();
        let device = weight.device().without_autodiff();
        // [d_in, d_out] → rows [d_out, d_in]
        let rows = weight.transpose().into_data().convert::<f32>();
        let rows = rows.try_to_vec::<f32>().expect("f32 weight");
        Nf4Weight {
            packed: Arc::new(quantize_nf4(&rows)),
            d_in,
            d_out,
            device,
        }
    }

    /// The dense `[d_in, d_out]` weight, on the device the model lives on.
    pub fn to_dense(&self) -> Tensor<2> {
        let rows = TensorData::new(self.packed.dequantize(), [self.d_out, self.d_in]);
        Tensor::<2>::from_data(rows, &self.device).transpose()
    }
}

impl std::fmt::Display for Nf4Weight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Nf4Weight[{}, {}]", self.d_in, self.d_out)
    }
}

// The NF4 codes are not burn parameters: no gradient, no record, no device move.
use burn::empty;
empty!(Nf4Weight);
