//! QLoRA: the frozen base in NF4.
//!
//! LoRA already removes the gradients and optimizer moments of the base; what
//! remains is the base itself, 4 bytes per weight in f32. QLoRA stores each
//! block matrix in double-quantized NF4 (≈ 4.13 bits per weight) and
//! dequantizes it whenever a forward or backward pass needs it. The adapters
//! stay in f32 and are trained exactly as in LoRA; the only change is that
//! they learn on top of a slightly perturbed base.

use locallm_model::{Base, Llama, Nf4Weight};

use crate::attach::proj_mut;
use crate::config::Target;

// ANCHOR: quantize_base
/// Replaces every dense projection inside the blocks by its NF4 version.
/// (Embeddings, norms and the output layer stay as they are, as in QLoRA.)
pub fn quantize_base(mut model: Llama) -> Llama {
    for block in model.blocks.iter_mut() {
        for t in Target::ALL {
            let p = proj_mut(block, t);
            if let Base::Dense(linear) = &p.base {
                p.base = Base::Nf4(Nf4Weight::quantize(linear.weight.val()));
            }
        }
    }
    model
}
// ANCHOR_END: quantize_base

/// Bytes held by the weights of the model at rest (block projections as
/// stored, plus the f32 embedding, output layer and norms).
pub fn base_bytes(model: &Llama) -> usize {
    let f32_bytes = |n: usize| 4 * n;
    let mut total = f32_bytes(model.embed.weight().shape().num_elements())
        + model.output.base_bytes()
        + f32_bytes(model.norm.weight.val().shape().num_elements());
    for block in &model.blocks {
        total += f32_bytes(block.attn_norm.weight.val().shape().num_elements());
        total += f32_bytes(block.ffn_norm.weight.val().shape().num_elements());
        for t in Target::ALL {
            total += crate::attach::proj(block, t).base_bytes();
        }
    }
    total
}
