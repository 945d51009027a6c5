//! Folding an adapter into the weights.
//!
//! `x·W + s·(x·A)·B = x·(W + s·A·B)`: after training, the update can be added
//! to `W` once, and the model runs at exactly its original speed with no
//! adapter at all. The price: the adapter can no longer be switched off, and
//! a quantized base must be stored at a precision that keeps the small `ΔW`.

use std::path::Path;

use locallm_model::{Llama, Proj};
use locallm_quant::{GgmlType, GgufFile, TensorInfo, write_gguf};

use crate::LoraError;
use crate::attach::{proj, proj_mut};
use crate::config::Target;

// ANCHOR: merge
/// `W ← W + scale · A·B` for every adapted projection; the adapters are gone.
pub fn merge(mut model: Llama) -> Llama {
    for block in model.blocks.iter_mut() {
        for t in Target::ALL {
            let p = proj_mut(block, t);
            if let Some(lora) = p.lora.take() {
                // [d_in, r]·[r, d_out] → [d_in, d_out], the shape of W
                let delta = lora.a.val().matmul(lora.b.val()).mul_scalar(lora.scale);
                let w = p.base_weight();
                let merged = w.clone() + delta.without_autodiff().to_device(&w.device());
                *p = Proj::dense(burn::nn::Linear {
                    weight: burn::module::Param::from_tensor(merged),
                    bias: None,
                });
            }
        }
    }
    model
}
// ANCHOR_END: merge

/// Writes a copy of `source` (the GGUF the model was loaded from) in which
/// every projection that `merged` changed is replaced by its merged weight,
/// stored as F32 so the small update survives; everything else is copied.
pub fn export_merged_gguf(
    source: &GgufFile,
    merged: &Llama,
    adapted: &[(usize, Target)],
    out: &Path,
) -> Result<(), LoraError> {
    let metadata = source.metadata_in_file_order();
    let mut tensors: Vec<TensorInfo> = source.tensors.clone();
    for info in tensors.iter_mut() {
        if which(&info.name, adapted).is_some() {
            info.ggml_type = GgmlType::F32;
        }
    }
    write_gguf(out, &metadata, &tensors, |i| {
        let info = &tensors[i];
        match which(&info.name, adapted) {
            Some((layer, t)) => {
                let p = proj(&merged.blocks[layer], t);
                // burn's [d_in, d_out] back to GGUF rows [d_out, d_in]
                let rows = p.base_weight().transpose().into_data().convert::<f32>();
                let rows = rows.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
                Ok(rows.iter().flat_map(|v| v.to_le_bytes()).collect())
            }
            None => {
                let original = source.tensor(&info.name).expect("tensor from this file");
                Ok(source.tensor_data(original).to_vec())
            }
        }
    })?;
    Ok(())
}

/// `(layer, target)` if `name` is the GGUF tensor of an adapted projection.
fn which(name: &str, adapted: &[(usize, Target)]) -> Option<(usize, Target)> {
    adapted
        .iter()
        .copied()
        .find(|(l, t)| name == format!("blk.{l}.{}.weight", t.gguf_name()))
}
