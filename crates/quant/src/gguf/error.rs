//! Everything that can be wrong with a GGUF file, each named precisely.

use std::path::PathBuf;

use crate::blocks::{GgmlType, QuantError};

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "not a GGUF file: starts with {found:02x?}, expected the magic \"GGUF\"{}",
        looks_like.map(|l| format!("; it looks like {l}")).unwrap_or_default()
    )]
    NotGguf {
        found: Vec<u8>,
        /// What the bytes look like instead, and how to get a GGUF from it.
        looks_like: Option<&'static str>,
    },
    #[error("GGUF version {0} looks byte-swapped: big-endian GGUF files are not supported")]
    BigEndian(u32),
    #[error("GGUF version {0} is not supported (only versions 2 and 3)")]
    UnsupportedVersion(u32),
    #[error("file truncated: {what} at byte {offset} needs {needed} bytes, only {available} left")]
    Truncated {
        what: &'static str,
        offset: u64,
        needed: u64,
        available: u64,
    },
    #[error("header claims {count} {what}, but the {available} bytes left can hold at most {max}")]
    CountTooLarge {
        what: &'static str,
        count: u64,
        max: u64,
        available: u64,
    },

    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 { what: &'static str },
    #[error("metadata key #{index} is empty")]
    EmptyKey { index: u64 },
    #[error("duplicate metadata key {0:?}")]
    DuplicateKey(String),
    #[error("metadata {key:?} has unknown value type {ty}")]
    UnknownValueType { key: String, ty: u32 },
    #[error("metadata {key:?} has a bool byte {value}, expected 0 or 1")]
    InvalidBool { key: String, value: u8 },
    #[error("metadata {key:?} claims {len} array elements, but only {available} bytes are left")]
    ArrayTooLong {
        key: String,
        len: u64,
        available: u64,
    },
    #[error("metadata {key:?} nests arrays deeper than {max} levels")]
    NestingTooDeep { key: String, max: usize },
    #[error("general.alignment must be a u32, found a {found}")]
    AlignmentType { found: &'static str },
    #[error("general.alignment must be a non-zero power of two, got {0}")]
    BadAlignment(u32),

    #[error("duplicate tensor name {0:?}")]
    DuplicateTensor(String),
    #[error("tensor {tensor:?} has {n_dims} dimensions; GGUF allows 1 to 4")]
    BadDimCount { tensor: String, n_dims: u32 },
    #[error("tensor {tensor:?} has a zero-sized dimension: shape {shape:?}")]
    ZeroDim { tensor: String, shape: Vec<u64> },
    #[error("tensor {tensor:?} with shape {shape:?} has too many elements to count")]
    ElementCountOverflow { tensor: String, shape: Vec<u64> },
    #[error("tensor {tensor:?} has unknown ggml type id {ty}")]
    UnknownTensorType { tensor: String, ty: u32 },
    #[error("tensor {tensor:?}: rows of {row} {ty} values are not whole blocks of {block_size}")]
    PartialBlock {
        tensor: String,
        ty: GgmlType,
        row: u64,
        block_size: usize,
    },
    #[error("tensor {tensor:?} offset {offset} is not a multiple of the alignment {alignment}")]
    MisalignedTensor {
        tensor: String,
        offset: u64,
        alignment: u64,
    },
    #[error(
        "tensor {tensor:?} data [{offset}, +{n_bytes}) lies beyond the {data_len}-byte data section"
    )]
    TensorOutOfBounds {
        tensor: String,
        offset: u64,
        n_bytes: u64,
        data_len: u64,
    },
    #[error("tensors {first:?} and {second:?} overlap in the data section")]
    OverlappingTensors { first: String, second: String },

    #[error("tensor {tensor:?}: {source}")]
    Quant { tensor: String, source: QuantError },
}
