//! Chapter 17.1 exercise: how many bits per weight does a quantized model cost?
//!
//! Every ggml type is two numbers: how many weights a block holds
//! (`block_size`) and how many bytes that block takes (`type_size`). A
//! tensor of `n` weights takes `n / block_size · type_size` bytes, and `n`
//! must be a whole number of blocks: ggml never splits a block.
//!
//! The bits per weight of a model, the number quantization tables compare,
//! count everything a block stores, scales and minimums included:
//! `8 · (bytes of all tensors) / (weights of all tensors)`. A mix such as
//! Q4_K_M gives tensors different types, so its figure is an average,
//! weighted by the tensors' sizes.
//!
//! The blocks this exercise knows, field by field as ggml's
//! `ggml-common.h` declares them (`f16` is 2 bytes, `f32` 4, `i16` 2,
//! `u8`/`i8` 1; `QK_K` is 256):
//!
//! | name   | weights | fields                                                        |
//! |--------|--------:|---------------------------------------------------------------|
//! | `f32`  | 1       | the f32                                                       |
//! | `f16`  | 1       | the f16                                                       |
//! | `bf16` | 1       | a bfloat16, 2 bytes                                           |
//! | `q8_0` | 32      | `d: f16`, `qs: [i8; 32]`                                      |
//! | `q4_0` | 32      | `d: f16`, `qs: [u8; 16]`                                      |
//! | `q4_1` | 32      | `d: f16`, `m: f16`, `qs: [u8; 16]`                            |
//! | `q5_0` | 32      | `d: f16`, `qh: [u8; 4]`, `qs: [u8; 16]`                       |
//! | `q5_1` | 32      | `d: f16`, `m: f16`, `qh: [u8; 4]`, `qs: [u8; 16]`             |
//! | `q2_K` | QK_K    | `scales: [u8; QK_K/16]`, `qs: [u8; QK_K/4]`, `d: f16`, `dmin: f16` |
//! | `q3_K` | QK_K    | `hmask: [u8; QK_K/8]`, `qs: [u8; QK_K/4]`, `scales: [u8; 12]`, `d: f16` |
//! | `q4_K` | QK_K    | `d: f16`, `dmin: f16`, `scales: [u8; 12]`, `qs: [u8; QK_K/2]` |
//! | `q5_K` | QK_K    | `d: f16`, `dmin: f16`, `scales: [u8; 12]`, `qh: [u8; QK_K/8]`, `qs: [u8; QK_K/2]` |
//! | `q6_K` | QK_K    | `ql: [u8; QK_K/2]`, `qh: [u8; QK_K/4]`, `scales: [i8; QK_K/16]`, `d: f16` |
//! | `q8_K` | QK_K    | `d: f32`, `qs: [i8; QK_K]`, `bsums: [i16; QK_K/16]`           |
//!
//! (None of these structs has padding.) The names are ggml's, as GGUF tools
//! print them: lower-case, with an upper-case `K`.
//!
//! Check your work with `./check.sh ch17-mix-bits` (from `exercises/`). The
//! tests compare your layouts with `locallm-quant`'s type table, and your
//! sizes and bits per weight with `locallm-quant`'s for every tensor of the
//! real model, as it is and as each mix of `locallm quantize` would make it.

/// Why a size could not be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BitsError {
    /// A type name that is not in the table above.
    UnknownType(String),
    /// `n_elements` weights do not fill whole blocks of the type.
    PartialBlock { type_name: String, n_elements: u64 },
    /// The tensors hold no weights at all: there is nothing to divide by.
    NoWeights,
}

/// `(block_size, type_size)` of the type called `type_name`, `None` for a
/// name not in the table.
pub fn block_layout(type_name: &str) -> Option<(usize, usize)> {
    const QK_K: usize = 256;
    let layout = match type_name {
        "f32" => (1, 4),
        "f16" | "bf16" => (1, 2),
        "q8_0" => (32, 2 + 32),
        "q4_0" => (32, 2 + 16),
        "q4_1" => (32, 2 + 2 + 16),
        "q5_0" => (32, 2 + 4 + 16),
        "q5_1" => (32, 2 + 2 + 4 + 16),
        "q2_K" => (QK_K, QK_K / 16 + QK_K / 4 + 2 + 2),
        "q3_K" => (QK_K, QK_K / 8 + QK_K / 4 + 12 + 2),
        "q4_K" => (QK_K, 2 + 2 + 12 + QK_K / 2),
        "q5_K" => (QK_K, 2 + 2 + 12 + QK_K / 8 + QK_K / 2),
        "q6_K" => (QK_K, QK_K / 2 + QK_K / 4 + QK_K / 16 + 2),
        "q8_K" => (QK_K, 4 + QK_K + 2 * (QK_K / 16)),
        _ => return None,
    };
    Some(layout)
}

/// Bytes taken by a tensor of `n_elements` weights of type `type_name`.
pub fn tensor_bytes(n_elements: u64, type_name: &str) -> Result<u64, BitsError> {
    let (block_size, type_size) =
        block_layout(type_name).ok_or_else(|| BitsError::UnknownType(type_name.to_string()))?;
    let (block_size, type_size) = (block_size as u64, type_size as u64);
    if !n_elements.is_multiple_of(block_size) {
        return Err(BitsError::PartialBlock {
            type_name: type_name.to_string(),
            n_elements,
        });
    }
    Ok(n_elements / block_size * type_size)
}

/// Bits per weight of a whole model given as `(n_elements, type_name)` per
/// tensor: 8 · total bytes / total weights.
pub fn bits_per_weight(tensors: &[(u64, &str)]) -> Result<f64, BitsError> {
    let (mut bytes, mut weights) = (0u64, 0u64);
    for &(n_elements, type_name) in tensors {
        bytes += tensor_bytes(n_elements, type_name)?;
        weights += n_elements;
    }
    if weights == 0 {
        return Err(BitsError::NoWeights);
    }
    Ok(bytes as f64 * 8.0 / weights as f64)
}
