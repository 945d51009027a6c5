//! Quantizing a whole GGUF model to a mix such as `Q4_K_M`, the way
//! `llama-quantize` does it:
//!
//! 1. choose each tensor's type ([`mix::tensor_types`]),
//! 2. copy the metadata, then set `general.quantization_version` and
//!    `general.file_type` (moved to the end, as ggml's `gguf_set_val_u32` does),
//! 3. write the tensors in llama.cpp's order; a tensor whose type does not
//!    change is copied byte for byte, any other is dequantized to f32 and
//!    quantized with ggml's reference quantizer.
//!
//! With the same input, the output is the same file `llama-quantize` writes
//! (the tests compare sha256s).

use std::path::Path;

use crate::blocks::{self, GgmlType, QuantError};
use crate::gguf::{GgufError, GgufFile, GgufWriteError, MetaValue, TensorInfo, write_gguf};
use crate::mix::{self, MixModel, QuantMix};

/// `GGML_QNT_VERSION`, the version of the quantized formats.
pub const QUANTIZATION_VERSION: u32 = 2;

/// Why a model could not be quantized.
#[derive(Debug, thiserror::Error)]
pub enum QuantizeModelError {
    #[error("metadata key {0} is missing or not an integer; cannot apply the mix rules")]
    MissingKey(String),
    #[error("tensor {tensor:?}: value {index} is {value}; refusing to quantize NaN or infinity")]
    NonFinite {
        tensor: String,
        index: usize,
        value: f32,
    },
    #[error(
        "tensor {tensor:?}: the {ty} block starting at value {block_start} (largest |x| {amax:e}) overflows its f16 scale"
    )]
    Overflow {
        tensor: String,
        ty: GgmlType,
        block_start: usize,
        amax: f32,
    },
    #[error("tensor {tensor:?}: {source}")]
    Quant { tensor: String, source: QuantError },
    #[error(transparent)]
    Read(#[from] GgufError),
    #[error(transparent)]
    Write(#[from] GgufWriteError),
}

/// What [`quantize_model`] did.
#[derive(Debug, Clone)]
pub struct QuantizeReport {
    /// Every output tensor in file order, with its input and output types.
    pub tensors: Vec<(String, GgmlType, GgmlType)>,
    /// Input tensors that were already quantized and got a new type.
    pub requantized: usize,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// The facts about the model the mix rules use, from its metadata.
pub fn mix_model(gguf: &GgufFile) -> Result<MixModel, QuantizeModelError> {
    let arch = gguf.metadata.architecture().unwrap_or("llama");
    let get = |k: &str| {
        let key = format!("{arch}.{k}");
        gguf.metadata
            .get_u64(&key)
            .ok_or(QuantizeModelError::MissingKey(key))
    };
    let n_head = get("attention.head_count")?;
    let n_head_kv = get("attention.head_count_kv").unwrap_or(n_head);
    Ok(MixModel {
        n_layer: get("block_count")? as usize,
        n_gqa: n_head.checked_div(n_head_kv).unwrap_or(0) as usize,
    })
}

// ANCHOR: quantize_model
/// Quantize `input` to `mix` and write the result at `out` (atomically: a
/// temporary file renamed at the end). `progress(done, total, name)` is
/// called before each tensor.
pub fn quantize_model(
    input: &GgufFile,
    out: &Path,
    mix: QuantMix,
    mut progress: impl FnMut(usize, usize, &str),
) -> Result<QuantizeReport, QuantizeModelError> {
    let types = mix::tensor_types(mix, &input.tensors, mix_model(input)?);
    let order = mix::llama_order(&input.tensors);
    let tensors: Vec<TensorInfo> = order
        .iter()
        .map(|&i| TensorInfo {
            ggml_type: types[i],
            ..input.tensors[i].clone()
        })
        .collect();

    let mut metadata = input.metadata_in_file_order();
    for (key, value) in [
        ("general.quantization_version", QUANTIZATION_VERSION),
        ("general.file_type", mix.file_type()),
    ] {
        metadata.retain(|(k, _)| k != key);
        metadata.push((key.to_string(), MetaValue::U32(value)));
    }

    let total = tensors.len();
    // A failed conversion is kept here, to be returned as itself rather than
    // wrapped in the writer's error.
    let mut failure = None;
    let written = write_gguf(out, &metadata, &tensors, |j| {
        let (src, dst) = (&input.tensors[order[j]], &tensors[j]);
        progress(j, total, &src.name);
        convert(input, src, dst.ggml_type).map_err(|e| {
            let msg = e.to_string();
            failure = Some(e);
            msg.into()
        })
    });
    if let Err(e) = written {
        return Err(failure.take().unwrap_or(e.into()));
    }
    progress(total, total, "");

    let report = QuantizeReport {
        tensors: order
            .iter()
            .map(|&i| {
                (
                    input.tensors[i].name.clone(),
                    input.tensors[i].ggml_type,
                    types[i],
                )
            })
            .collect(),
        requantized: order
            .iter()
            .filter(|&&i| {
                is_quantized(input.tensors[i].ggml_type) && input.tensors[i].ggml_type != types[i]
            })
            .count(),
        bytes_in: input.tensors.iter().map(|t| t.n_bytes()).sum(),
        bytes_out: tensors.iter().map(|t| t.n_bytes()).sum(),
    };
    Ok(report)
}
// ANCHOR_END: quantize_model

/// One tensor's bytes as type `to`: copied when the type is unchanged,
/// otherwise through f32.
fn convert(gguf: &GgufFile, t: &TensorInfo, to: GgmlType) -> Result<Vec<u8>, QuantizeModelError> {
    let quant_err = |source| QuantizeModelError::Quant {
        tensor: t.name.clone(),
        source,
    };
    let bytes = gguf.try_tensor_data(t).map_err(QuantizeModelError::Read)?;
    if t.ggml_type == to {
        return Ok(bytes.to_vec());
    }
    let values =
        blocks::dequantize(t.ggml_type, bytes, t.n_elements() as usize).map_err(quant_err)?;
    // ggml refuses to write non-finite values (`ggml_validate_row_data`
    // fails after quantizing); we refuse before, and say where.
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(QuantizeModelError::NonFinite {
            tensor: t.name.clone(),
            index,
            value: values[index],
        });
    }
    let out = blocks::quantize(to, &values).map_err(quant_err)?;
    // Finite inputs can still overflow an f16 scale (|x| > 65504 · levels):
    // ggml's `ggml_validate_row_data` rejects such output, and so do we.
    let check = blocks::dequantize(to, &out, values.len()).map_err(quant_err)?;
    if let Some(index) = check.iter().position(|v| !v.is_finite()) {
        let block_start = index / to.block_size() * to.block_size();
        let block = &values[block_start..block_start + to.block_size()];
        return Err(QuantizeModelError::Overflow {
            tensor: t.name.clone(),
            ty: to,
            block_start,
            amax: block.iter().fold(0.0, |a: f32, v| a.max(v.abs())),
        });
    }
    Ok(out)
}

/// Is `ty` a block-quantized type (not a plain number type)?
pub fn is_quantized(ty: GgmlType) -> bool {
    ty.block_size() > 1
}
