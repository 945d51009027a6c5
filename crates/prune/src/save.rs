//! Writing the pruned model as GGUF.
//!
//! Every tensor the pruning did not touch (embeddings, norms) is copied byte
//! for byte, in its original type. The pruned matrices are written as F32:
//! re-quantizing them would blur the zeros' effect with quantization error
//! (and Q4 blocks cannot even keep a zero exactly unless the block's minimum
//! happens to allow it). All metadata is carried over; the shape keys are
//! updated when structured pruning changed them, and `locallm.prune.*` keys
//! say what was done. llama.cpp loads the result like any other file.

use std::path::Path;

use locallm_model::Llama;
use locallm_quant::{GgmlType, GgufFile, MetaValue, TensorInfo, write_gguf};

use crate::PruneError;
use crate::matrices::Matrix;

/// `llama_ftype` `LLAMA_FTYPE_ALL_F32`: the pruned matrices, most of the
/// weights, are F32 now.
const FILE_TYPE_F32: u32 = 0;

// ANCHOR: save_pruned
/// Writes `model` (pruned from `src`) to `path`, with `src`'s metadata
/// updated to the model's shapes and `description` (e.g. "wanda 2:4").
pub fn save_pruned(
    src: &GgufFile,
    model: &Llama,
    description: &str,
    path: &Path,
) -> Result<(), PruneError> {
    let metadata = pruned_metadata(src, model, description);
    let tensors: Vec<TensorInfo> = src.tensors.iter().map(|t| output_info(t, model)).collect();
    write_gguf(path, &metadata, &tensors, |i| {
        let t = &tensors[i];
        match Matrix::parse_tensor_name(&t.name) {
            // pruned: the model's current weight as [d_out, d_in] rows, f32 little-endian
            Some((layer, proj)) => {
                let rows = proj.rows(&model.blocks[layer]);
                let values = rows.into_data().convert::<f32>().try_into_vec::<f32>()?;
                Ok(values.iter().flat_map(|v| v.to_le_bytes()).collect())
            }
            None => Ok(src.try_tensor_data(&src.tensors[i])?.to_vec()),
        }
    })?;
    Ok(())
}
// ANCHOR_END: save_pruned

/// The directory entry of a tensor in the output file.
fn output_info(t: &TensorInfo, model: &Llama) -> TensorInfo {
    match Matrix::parse_tensor_name(&t.name) {
        Some((layer, proj)) if layer < model.blocks.len() => {
            let [d_out, d_in] = proj.rows(&model.blocks[layer]).dims();
            TensorInfo {
                name: t.name.clone(),
                shape: vec![d_in as u64, d_out as u64], // GGUF: innermost (row length) first
                ggml_type: GgmlType::F32,
                offset: 0,
            }
        }
        _ => t.clone(),
    }
}

fn pruned_metadata(src: &GgufFile, model: &Llama, description: &str) -> Vec<(String, MetaValue)> {
    let c = &model.config;
    let arch = src.metadata.architecture().unwrap_or("llama").to_string();
    let u32_of = |v: usize| MetaValue::U32(v as u32);
    let mut updates = vec![
        (format!("{arch}.attention.head_count"), u32_of(c.n_heads)),
        (
            format!("{arch}.attention.head_count_kv"),
            u32_of(c.n_kv_heads),
        ),
        (format!("{arch}.feed_forward_length"), u32_of(c.ffn_dim)),
        (
            "general.file_type".to_string(),
            MetaValue::U32(FILE_TYPE_F32),
        ),
        (
            "locallm.prune.method".to_string(),
            MetaValue::String(description.to_string()),
        ),
    ];
    if c.q_dim() != c.d_model {
        // fewer heads of the same width: head_dim is no longer d_model / n_heads
        updates.push((format!("{arch}.attention.key_length"), u32_of(c.head_dim)));
        updates.push((format!("{arch}.attention.value_length"), u32_of(c.head_dim)));
    }
    let mut metadata = src.metadata_in_file_order();
    for (key, value) in updates {
        match metadata.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => metadata.push((key, value)),
        }
    }
    metadata
}
