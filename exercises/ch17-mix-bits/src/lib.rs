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
    // TODO: one match arm per row of the table; add up the bytes of the
    //       fields (QK_K / 16 bytes of scales in q2_K, and so on).
    let _ = type_name;
    todo!("weights and bytes per block")
}

/// Bytes taken by a tensor of `n_elements` weights of type `type_name`.
pub fn tensor_bytes(n_elements: u64, type_name: &str) -> Result<u64, BitsError> {
    // TODO: look the layout up (UnknownType if there is none).
    // TODO: refuse a count that is not a multiple of the block size (PartialBlock).
    // TODO: number of blocks times bytes per block.
    let _ = (n_elements, type_name);
    todo!("the bytes of one tensor")
}

/// Bits per weight of a whole model given as `(n_elements, type_name)` per
/// tensor: 8 · total bytes / total weights.
pub fn bits_per_weight(tensors: &[(u64, &str)]) -> Result<f64, BitsError> {
    // TODO: add up the bytes (tensor_bytes, with `?`) and the weights, in u64.
    // TODO: NoWeights when the total of weights is 0.
    // TODO: convert the two totals to f64 and divide (times 8 bits).
    let _ = tensors;
    todo!("bits per weight of the mix")
}
