//! Writing a GGUF file, laid out exactly as ggml's `gguf_write_to_file`
//! (and `llama-quantize`) lay it out:
//!
//! ```text
//! "GGUF" | version u32 = 3 | n_tensors u64 | n_kv u64
//! n_kv × (key string, value type u32, value)
//! n_tensors × (name string, n_dims u32, dims u64…, type u32, offset u64)
//! zero padding to the alignment
//! n_tensors × (data, zero padding to the alignment)
//! ```
//!
//! Strings are a u64 length and UTF-8 bytes; arrays an element type u32, a
//! u64 length and the elements. Offsets are relative to the data section and
//! each is the previous one plus the previous tensor's size rounded up to the
//! alignment (`general.alignment`, 32 when absent).
//!
//! The file is written to a temporary file next to the destination and
//! renamed over it only once complete: an interrupted write never leaves a
//! truncated file under the destination's name.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{MetaValue, TensorInfo};
use crate::blocks::{GgmlType, QuantError};

/// The GGUF version we write (the current one).
pub const GGUF_VERSION: u32 = 3;
const DEFAULT_ALIGNMENT: u64 = 32;

/// Why a GGUF file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum GgufWriteError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("metadata key {key:?}: an array mixes {first} and {other} elements")]
    MixedArray {
        key: String,
        first: &'static str,
        other: &'static str,
    },
    #[error("metadata key {key:?}: an empty array has no element type to write")]
    EmptyArray { key: String },
    #[error("metadata key {0:?} appears twice")]
    DuplicateKey(String),
    #[error("tensor {0:?} appears twice")]
    DuplicateTensor(String),
    #[error("general.alignment must be a u32 power of two, got {0:?}")]
    BadAlignment(MetaValue),
    #[error("tensor {tensor:?} has shape {shape:?}: {source}")]
    Shape {
        tensor: String,
        shape: Vec<u64>,
        source: QuantError,
    },
    #[error("tensor {tensor:?}: {ty} data of shape {shape:?} is {expected} bytes, got {got}")]
    DataSize {
        tensor: String,
        ty: GgmlType,
        shape: Vec<u64>,
        expected: u64,
        got: u64,
    },
    #[error("tensor {tensor:?}: {source}")]
    Data {
        tensor: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A boxed error from the caller's data source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ANCHOR: gguf_write
/// Write a GGUF file at `path`: `metadata` in the given order, the tensor
/// directory from `tensors` (their `offset` fields are ignored and
/// recomputed), then the data of tensor `i`, asked for in order from
/// `data(i)` so that a caller can produce (quantize) one tensor at a time.
pub fn write_gguf<F>(
    path: &Path,
    metadata: &[(String, MetaValue)],
    tensors: &[TensorInfo],
    mut data: F,
) -> Result<(), GgufWriteError>
where
    F: FnMut(usize) -> Result<Vec<u8>, BoxError>,
{
    let alignment = check_header(metadata, tensors)?;
    let sizes = tensor_sizes(tensors)?;
    let io_err = |source| GgufWriteError::Io {
        path: path.to_path_buf(),
        source,
    };

    // The temporary file lives in the destination directory so the final
    // rename stays on one file system (and is atomic there).
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".locallm-")
        .suffix(".gguf.partial")
        .tempfile_in(dir)
        .map_err(io_err)?;
    let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());

    let mut header = Vec::new();
    encode_header(&mut header, metadata, tensors, &sizes, alignment)?;
    w.write_all(&header).map_err(io_err)?;

    for (i, (t, &n_bytes)) in tensors.iter().zip(&sizes).enumerate() {
        let bytes = data(i).map_err(|source| GgufWriteError::Data {
            tensor: t.name.clone(),
            source,
        })?;
        if bytes.len() as u64 != n_bytes {
            return Err(GgufWriteError::DataSize {
                tensor: t.name.clone(),
                ty: t.ggml_type,
                shape: t.shape.clone(),
                expected: n_bytes,
                got: bytes.len() as u64,
            });
        }
        w.write_all(&bytes).map_err(io_err)?;
        w.write_all(&vec![0; padding(n_bytes, alignment)])
            .map_err(io_err)?;
    }
    w.flush().map_err(io_err)?;
    drop(w);
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    Ok(())
}
// ANCHOR_END: gguf_write

/// Everything before the data section, padding included.
fn encode_header(
    out: &mut Vec<u8>,
    metadata: &[(String, MetaValue)],
    tensors: &[TensorInfo],
    sizes: &[u64],
    alignment: u64,
) -> Result<(), GgufWriteError> {
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&GGUF_VERSION.to_le_bytes());
    out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (key, value) in metadata {
        put_string(out, key);
        out.extend_from_slice(&value_type(value).to_le_bytes());
        put_value(out, key, value)?;
    }
    let mut offset = 0u64;
    for (t, &n_bytes) in tensors.iter().zip(sizes) {
        put_string(out, &t.name);
        out.extend_from_slice(&(t.shape.len() as u32).to_le_bytes());
        for &d in &t.shape {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&(t.ggml_type as u32).to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        offset += n_bytes + padding(n_bytes, alignment) as u64;
    }
    out.resize(out.len() + padding(out.len() as u64, alignment), 0);
    Ok(())
}

/// Zero bytes needed after `len` bytes to reach a multiple of `alignment`.
fn padding(len: u64, alignment: u64) -> usize {
    (len.next_multiple_of(alignment) - len) as usize
}

/// Unique keys and tensor names; the alignment the file asks for.
fn check_header(
    metadata: &[(String, MetaValue)],
    tensors: &[TensorInfo],
) -> Result<u64, GgufWriteError> {
    let mut keys = std::collections::HashSet::new();
    let mut alignment = DEFAULT_ALIGNMENT;
    for (key, value) in metadata {
        if !keys.insert(key.as_str()) {
            return Err(GgufWriteError::DuplicateKey(key.clone()));
        }
        if key == "general.alignment" {
            alignment = match *value {
                MetaValue::U32(a) if a.is_power_of_two() => a as u64,
                _ => return Err(GgufWriteError::BadAlignment(value.clone())),
            };
        }
    }
    let mut names = std::collections::HashSet::new();
    for t in tensors {
        if !names.insert(t.name.as_str()) {
            return Err(GgufWriteError::DuplicateTensor(t.name.clone()));
        }
    }
    Ok(alignment)
}

/// The byte size of each tensor; rows must be whole blocks.
fn tensor_sizes(tensors: &[TensorInfo]) -> Result<Vec<u64>, GgufWriteError> {
    tensors
        .iter()
        .map(|t| {
            let shape_err = |source| GgufWriteError::Shape {
                tensor: t.name.clone(),
                shape: t.shape.clone(),
                source,
            };
            let row = t.shape.first().copied().unwrap_or(1) as usize;
            t.ggml_type.n_bytes(row).map_err(shape_err)?;
            let n = t
                .shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d as usize));
            let n = n.ok_or(shape_err(QuantError::TooLarge {
                ty: t.ggml_type,
                n_elements: usize::MAX,
            }))?;
            Ok(t.ggml_type.n_bytes(n).map_err(shape_err)? as u64)
        })
        .collect()
}

/// `enum gguf_type` of ggml's `gguf.h`.
fn value_type(v: &MetaValue) -> u32 {
    match v {
        MetaValue::U8(_) => 0,
        MetaValue::I8(_) => 1,
        MetaValue::U16(_) => 2,
        MetaValue::I16(_) => 3,
        MetaValue::U32(_) => 4,
        MetaValue::I32(_) => 5,
        MetaValue::F32(_) => 6,
        MetaValue::Bool(_) => 7,
        MetaValue::String(_) => 8,
        MetaValue::Array(_) => 9,
        MetaValue::U64(_) => 10,
        MetaValue::I64(_) => 11,
        MetaValue::F64(_) => 12,
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, key: &str, v: &MetaValue) -> Result<(), GgufWriteError> {
    match v {
        MetaValue::U8(x) => out.push(*x),
        MetaValue::I8(x) => out.push(*x as u8),
        MetaValue::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::Bool(x) => out.push(*x as u8),
        MetaValue::String(s) => put_string(out, s),
        MetaValue::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::Array(items) => {
            let Some(first) = items.first() else {
                return Err(GgufWriteError::EmptyArray {
                    key: key.to_string(),
                });
            };
            let elem_ty = value_type(first);
            out.extend_from_slice(&elem_ty.to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                if std::mem::discriminant(item) != std::mem::discriminant(first) {
                    return Err(GgufWriteError::MixedArray {
                        key: key.to_string(),
                        first: first.type_name(),
                        other: item.type_name(),
                    });
                }
                put_value(out, key, item)?;
            }
        }
    }
    Ok(())
}
