//! Reading a GGUF file (versions 2 and 3, little-endian).
//!
//! ```text
//! magic "GGUF" | version: u32 | n_tensors: u64 | n_kv: u64
//! n_kv      × { key: string | value_type: u32 | value }
//! n_tensors × { name: string | n_dims: u32 | ne: n_dims × u64 | type: u32 | offset: u64 }
//! zero padding up to a multiple of `general.alignment` (default 32)
//! tensor data: each tensor's blocks start at data_offset + offset
//! ```
//!
//! A string is a u64 byte length followed by UTF-8 bytes (no NUL). An array
//! value is an element type (u32), a count (u64), then the elements.
//!
//! Every count and length in the header is checked against the bytes that
//! are left *before* anything is allocated, so a corrupt or hostile file
//! gives a `GgufError`, never a panic or a huge allocation.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::path::Path;

use memmap2::Mmap;

use super::{GgufError, MetaValue, Metadata};
use crate::blocks::{self, GgmlType};

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most 4 dimensions (`GGML_MAX_DIMS`).
const MAX_DIMS: u32 = 4;
/// The format allows arrays of arrays; we stop at a depth no real file needs,
/// so that a hostile file cannot overflow the stack.
const MAX_ARRAY_DEPTH: usize = 8;
/// The smallest possible encodings, used to bound header counts by the bytes left:
/// a key/value pair is a key length, a type and at least one byte of value;
const MIN_KV_BYTES: u64 = 8 + 4 + 1;
/// a tensor info is a name length, n_dims, at least one dimension, a type and an offset.
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 8 + 4 + 8;

/// An open GGUF file: its parsed header and (memory-mapped) bytes.
pub struct GgufFile {
    pub version: u32,
    pub metadata: Metadata,
    /// The metadata keys in file order (`metadata` itself is sorted by key).
    pub key_order: Vec<String>,
    /// The tensor directory, in file order.
    pub tensors: Vec<TensorInfo>,
    /// `general.alignment`, or 32.
    pub alignment: u64,
    /// Where the data section starts, from the beginning of the file.
    pub data_offset: u64,
    bytes: Bytes,
}

/// One entry of the tensor directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// GGUF order: `shape[0]` (ggml's `ne[0]`) is the innermost dimension, the row length.
    pub shape: Vec<u64>,
    pub ggml_type: GgmlType,
    /// Start of the tensor's bytes, relative to `GgufFile::data_offset`.
    pub offset: u64,
}

impl TensorInfo {
    // ANCHOR: tensor_size
    /// Number of values. Exact for tensors read from a file (checked when parsed).
    pub fn n_elements(&self) -> u64 {
        self.shape.iter().fold(1u64, |n, &d| n.saturating_mul(d))
    }

    /// Number of bytes of the tensor's blocks.
    pub fn n_bytes(&self) -> u64 {
        let block_size = self.ggml_type.block_size() as u64;
        (self.n_elements() / block_size).saturating_mul(self.ggml_type.type_size() as u64)
    }
    // ANCHOR_END: tensor_size

    /// The shape the way NumPy or PyTorch write it: `[ne[n-1], ..., ne[0]]`,
    /// outermost first. For a weight matrix that is `[rows, columns]`.
    pub fn shape_row_major(&self) -> Vec<usize> {
        self.shape.iter().rev().map(|&d| to_usize(d)).collect()
    }

    /// The byte size, after checking what the file claims: no zero or
    /// overflowing dimensions, and rows made of whole blocks.
    fn checked_n_bytes(&self) -> Result<u64, GgufError> {
        let (tensor, shape) = (|| self.name.clone(), || self.shape.clone());
        if self.shape.contains(&0) {
            return Err(GgufError::ZeroDim {
                tensor: tensor(),
                shape: shape(),
            });
        }
        let overflow = || GgufError::ElementCountOverflow {
            tensor: tensor(),
            shape: shape(),
        };
        let n_elements = self.shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
        let n_elements = n_elements
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(overflow)?;
        let (ty, row) = (self.ggml_type, self.shape.first().copied().unwrap_or(1));
        if !row.is_multiple_of(ty.block_size() as u64) {
            return Err(GgufError::PartialBlock {
                tensor: tensor(),
                ty,
                row,
                block_size: ty.block_size(),
            });
        }
        (n_elements / ty.block_size() as u64)
            .checked_mul(ty.type_size() as u64)
            .ok_or_else(overflow)
    }
}

impl GgufFile {
    /// Memory-map and parse a GGUF file. Tensor data is not read until asked for.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile, GgufError> {
        let path = path.as_ref();
        let io = |source| GgufError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the map is read-only. Like every mmap-based model loader we
        // rely on nobody truncating or rewriting the file while it is open.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        Self::parse(Bytes::Mapped(map))
    }

    /// Parse a GGUF file held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GgufFile, GgufError> {
        Self::parse(Bytes::Owned(bytes))
    }

    fn parse(bytes: Bytes) -> Result<GgufFile, GgufError> {
        let h = read_header(bytes.as_slice())?;
        Ok(GgufFile {
            version: h.version,
            metadata: h.metadata,
            key_order: h.key_order,
            tensors: h.tensors,
            alignment: h.alignment,
            data_offset: h.data_offset,
            bytes,
        })
    }

    /// The metadata as (key, value) pairs in file order, ready for [`super::write_gguf`].
    pub fn metadata_in_file_order(&self) -> Vec<(String, MetaValue)> {
        let value = |k: &String| self.metadata.entries[k].clone();
        self.key_order
            .iter()
            .map(|k| (k.clone(), value(k)))
            .collect()
    }

    /// How many weights the file holds, all tensors together.
    pub fn n_params(&self) -> u64 {
        self.tensors.iter().map(|t| t.n_elements()).sum()
    }

    /// Bytes of tensor data, all tensors together (the file minus its header).
    pub fn tensor_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.n_bytes()).sum()
    }

    /// The average storage cost of one weight, scales and minimums included:
    /// the number quantization tables compare (Q4_0 is 4.5, Q8_0 8.5).
    pub fn bits_per_weight(&self) -> f64 {
        self.tensor_bytes() as f64 * 8.0 / self.n_params().max(1) as f64
    }

    /// The tensor called `name`, if any.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The raw block bytes of `t`, which should come from this file's `tensors`
    /// (all of which were bounds-checked). For a tensor whose bytes are not in
    /// this file the slice is empty; `try_tensor_data` says why instead.
    pub fn tensor_data(&self, t: &TensorInfo) -> &[u8] {
        self.try_tensor_data(t).unwrap_or_default()
    }

    /// The raw block bytes of `t`, or `TensorOutOfBounds`.
    pub fn try_tensor_data(&self, t: &TensorInfo) -> Result<&[u8], GgufError> {
        let data = self
            .bytes
            .as_slice()
            .get(to_usize(self.data_offset)..)
            .unwrap_or_default();
        let (start, len) = (to_usize(t.offset), to_usize(t.n_bytes()));
        let range = start.checked_add(len).map(|end| start..end);
        range
            .and_then(|r| data.get(r))
            .ok_or_else(|| GgufError::TensorOutOfBounds {
                tensor: t.name.clone(),
                offset: t.offset,
                n_bytes: t.n_bytes(),
                data_len: data.len() as u64,
            })
    }

    /// All values of `t` as f32, row-major (`shape_row_major`, last index fastest).
    pub fn dequantize(&self, t: &TensorInfo) -> Result<Vec<f32>, GgufError> {
        let n_elements = to_usize(t.n_elements());
        blocks::dequantize(t.ggml_type, self.try_tensor_data(t)?, n_elements).map_err(|source| {
            GgufError::Quant {
                tensor: t.name.clone(),
                source,
            }
        })
    }

    /// Like `dequantize`, into a buffer of exactly `t.n_elements()` values.
    pub fn dequantize_into(&self, t: &TensorInfo, out: &mut [f32]) -> Result<(), GgufError> {
        blocks::dequantize_into(t.ggml_type, self.try_tensor_data(t)?, out).map_err(|source| {
            GgufError::Quant {
                tensor: t.name.clone(),
                source,
            }
        })
    }
}

impl fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GgufFile")
            .field("version", &self.version)
            .field("n_kv", &self.metadata.entries.len())
            .field("n_tensors", &self.tensors.len())
            .field("alignment", &self.alignment)
            .field("data_offset", &self.data_offset)
            .field("file_len", &self.bytes.as_slice().len())
            .finish_non_exhaustive()
    }
}

/// The file's bytes: memory-mapped, or owned (tests, in-memory files).
enum Bytes {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// Everything before the data section.
struct Header {
    version: u32,
    metadata: Metadata,
    key_order: Vec<String>,
    tensors: Vec<TensorInfo>,
    alignment: u64,
    data_offset: u64,
}

// ANCHOR: gguf_header
fn read_header(bytes: &[u8]) -> Result<Header, GgufError> {
    let mut r = Reader { bytes, pos: 0 };
    read_magic(&mut r)?;
    let version = read_version(&mut r)?;
    let n_tensors = r.u64("tensor count")?;
    let n_kv = r.u64("metadata count")?;

    r.check_count("metadata entries", n_kv, MIN_KV_BYTES)?;
    let (metadata, key_order) = read_metadata(&mut r, n_kv)?;
    let alignment = alignment(&metadata)?;

    r.check_count("tensors", n_tensors, MIN_TENSOR_INFO_BYTES)?;
    let mut tensors = Vec::with_capacity(n_tensors as usize); // bounded by the bytes left
    let mut sizes = Vec::with_capacity(n_tensors as usize);
    for _ in 0..n_tensors {
        let t = read_tensor_info(&mut r)?;
        sizes.push(t.checked_n_bytes()?);
        tensors.push(t);
    }

    // The data section starts at the next multiple of the alignment.
    let data_offset = (r.pos as u64)
        .checked_next_multiple_of(alignment)
        .unwrap_or(u64::MAX);
    let data_len = (bytes.len() as u64).saturating_sub(data_offset);
    check_layout(&tensors, &sizes, alignment, data_len)?;
    Ok(Header {
        version,
        metadata,
        key_order,
        tensors,
        alignment,
        data_offset,
    })
}
// ANCHOR_END: gguf_header

fn read_magic(r: &mut Reader) -> Result<(), GgufError> {
    match r.array::<4>("magic") {
        Ok(m) if &m == MAGIC => Ok(()),
        Ok(m) => Err(GgufError::NotGguf {
            found: m.to_vec(),
            looks_like: looks_like(r.bytes),
        }),
        // Shorter than 4 bytes: a cut-off GGUF file, or not GGUF at all.
        Err(e) if MAGIC.starts_with(r.bytes) => Err(e),
        Err(_) => Err(GgufError::NotGguf {
            found: r.bytes.to_vec(),
            looks_like: None,
        }),
    }
}

/// What a file that is not GGUF looks like, from its first bytes, and how to
/// get a GGUF from it: the formats people download by mistake.
fn looks_like(bytes: &[u8]) -> Option<&'static str> {
    // safetensors: a little-endian u64 header length, then the JSON header
    let header_len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()));
    if header_len.is_some_and(|n| n > 0 && n < bytes.len() as u64) && bytes.get(8) == Some(&b'{') {
        return Some(
            "safetensors (Hugging Face weights): convert the model's folder with \
             llama.cpp's convert_hf_to_gguf.py",
        );
    }
    match bytes {
        [b'P', b'K', 3, 4, ..] => Some(
            "a zip archive, as PyTorch's .bin/.pt checkpoints are: convert the model's \
             folder with llama.cpp's convert_hf_to_gguf.py",
        ),
        [0x80, 2..=5, ..] => Some(
            "a Python pickle (an old PyTorch checkpoint): convert the model's folder \
             with llama.cpp's convert_hf_to_gguf.py",
        ),
        // ggml's older containers, u32 magics written little-endian
        [b'l', b'm', b'g', b'g', ..]
        | [b'f', b'm', b'g', b'g', ..]
        | [b't', b'j', b'g', b'g', ..] => Some(
            "GGML/GGMF/GGJT, the formats GGUF replaced: convert it with llama.cpp's \
                 convert_llama_ggml_to_gguf.py",
        ),
        _ => None,
    }
}

fn read_version(r: &mut Reader) -> Result<u32, GgufError> {
    let version = r.u32("version")?;
    match version {
        2 | 3 => Ok(version),
        // A big-endian file has its version bytes the other way round.
        v if (1..=3).contains(&v.swap_bytes()) => Err(GgufError::BigEndian(v)),
        v => Err(GgufError::UnsupportedVersion(v)),
    }
}

/// The key/value pairs, and their keys in file order.
fn read_metadata(r: &mut Reader, n_kv: u64) -> Result<(Metadata, Vec<String>), GgufError> {
    let mut metadata = Metadata::default();
    let mut order = Vec::new();
    for index in 0..n_kv {
        let key = r.string("metadata key")?;
        if key.is_empty() {
            return Err(GgufError::EmptyKey { index });
        }
        if metadata.entries.contains_key(&key) {
            return Err(GgufError::DuplicateKey(key));
        }
        let ty = r.u32("metadata value type")?;
        let value = read_value(r, ty, &key, 0)?;
        order.push(key.clone());
        metadata.entries.insert(key, value);
    }
    Ok((metadata, order))
}

// ANCHOR: gguf_value
/// One value of GGUF type `ty` (`enum gguf_type` in ggml's `gguf.h`).
fn read_value(r: &mut Reader, ty: u32, key: &str, depth: usize) -> Result<MetaValue, GgufError> {
    use MetaValue as V;
    Ok(match ty {
        0 => V::U8(r.le("u8 value", u8::from_le_bytes)?),
        1 => V::I8(r.le("i8 value", i8::from_le_bytes)?),
        2 => V::U16(r.le("u16 value", u16::from_le_bytes)?),
        3 => V::I16(r.le("i16 value", i16::from_le_bytes)?),
        4 => V::U32(r.le("u32 value", u32::from_le_bytes)?),
        5 => V::I32(r.le("i32 value", i32::from_le_bytes)?),
        6 => V::F32(r.le("f32 value", f32::from_le_bytes)?),
        7 => V::Bool(read_bool(r, key)?),
        8 => V::String(r.string("string value")?),
        9 => V::Array(read_array(r, key, depth)?),
        10 => V::U64(r.le("u64 value", u64::from_le_bytes)?),
        11 => V::I64(r.le("i64 value", i64::from_le_bytes)?),
        12 => V::F64(r.le("f64 value", f64::from_le_bytes)?),
        _ => {
            return Err(GgufError::UnknownValueType {
                key: key.to_string(),
                ty,
            });
        }
    })
}
// ANCHOR_END: gguf_value

/// The fewest bytes a value of GGUF type `ty` can take (strings and arrays may be empty).
fn min_value_bytes(ty: u32) -> Option<u64> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        8 | 10..=12 => Some(8),
        9 => Some(4 + 8),
        _ => None,
    }
}

fn read_bool(r: &mut Reader, key: &str) -> Result<bool, GgufError> {
    match r.le("bool value", u8::from_le_bytes)? {
        0 => Ok(false),
        1 => Ok(true),
        value => Err(GgufError::InvalidBool {
            key: key.to_string(),
            value,
        }),
    }
}

fn read_array(r: &mut Reader, key: &str, depth: usize) -> Result<Vec<MetaValue>, GgufError> {
    if depth >= MAX_ARRAY_DEPTH {
        return Err(GgufError::NestingTooDeep {
            key: key.to_string(),
            max: MAX_ARRAY_DEPTH,
        });
    }
    let elem_ty = r.u32("array element type")?;
    let len = r.u64("array length")?;
    let Some(min_bytes) = min_value_bytes(elem_ty) else {
        return Err(GgufError::UnknownValueType {
            key: key.to_string(),
            ty: elem_ty,
        });
    };
    if len > r.remaining() / min_bytes {
        let available = r.remaining();
        return Err(GgufError::ArrayTooLong {
            key: key.to_string(),
            len,
            available,
        });
    }
    let mut items = Vec::with_capacity(len as usize); // bounded by the bytes left
    for _ in 0..len {
        items.push(read_value(r, elem_ty, key, depth + 1)?);
    }
    Ok(items)
}

/// `general.alignment`: a u32 power of two, 32 when absent (as in ggml).
fn alignment(metadata: &Metadata) -> Result<u64, GgufError> {
    match metadata.get("general.alignment") {
        None => Ok(DEFAULT_ALIGNMENT),
        Some(&MetaValue::U32(a)) if a.is_power_of_two() => Ok(a as u64),
        Some(&MetaValue::U32(a)) => Err(GgufError::BadAlignment(a)),
        Some(other) => Err(GgufError::AlignmentType {
            found: other.type_name(),
        }),
    }
}

// ANCHOR: gguf_tensor_info
fn read_tensor_info(r: &mut Reader) -> Result<TensorInfo, GgufError> {
    let name = r.string("tensor name")?;
    let n_dims = r.u32("tensor dimension count")?;
    if n_dims == 0 || n_dims > MAX_DIMS {
        return Err(GgufError::BadDimCount {
            tensor: name,
            n_dims,
        });
    }
    let mut shape = Vec::with_capacity(n_dims as usize);
    for _ in 0..n_dims {
        shape.push(r.u64("tensor dimension")?);
    }
    let ty = r.u32("tensor type")?;
    let offset = r.u64("tensor offset")?;
    let Some(ggml_type) = GgmlType::from_u32(ty) else {
        return Err(GgufError::UnknownTensorType { tensor: name, ty });
    };
    Ok(TensorInfo {
        name,
        shape,
        ggml_type,
        offset,
    })
}
// ANCHOR_END: gguf_tensor_info

/// Unique names; each tensor aligned, inside the data section, and not
/// overlapping another. (`sizes[i]` is tensor i's checked byte size.)
fn check_layout(
    tensors: &[TensorInfo],
    sizes: &[u64],
    alignment: u64,
    data_len: u64,
) -> Result<(), GgufError> {
    let mut names = HashSet::new();
    for (t, &n_bytes) in tensors.iter().zip(sizes) {
        if !names.insert(t.name.as_str()) {
            return Err(GgufError::DuplicateTensor(t.name.clone()));
        }
        if !t.offset.is_multiple_of(alignment) {
            return Err(GgufError::MisalignedTensor {
                tensor: t.name.clone(),
                offset: t.offset,
                alignment,
            });
        }
        if t.offset
            .checked_add(n_bytes)
            .is_none_or(|end| end > data_len)
        {
            let (tensor, offset) = (t.name.clone(), t.offset);
            return Err(GgufError::TensorOutOfBounds {
                tensor,
                offset,
                n_bytes,
                data_len,
            });
        }
    }
    let mut by_offset: Vec<usize> = (0..tensors.len()).collect();
    by_offset.sort_by_key(|&i| tensors[i].offset);
    for pair in by_offset.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        // No overflow: both ends were bounds-checked above.
        if tensors[a].offset + sizes[a] > tensors[b].offset {
            let (first, second) = (tensors[a].name.clone(), tensors[b].name.clone());
            return Err(GgufError::OverlappingTensors { first, second });
        }
    }
    Ok(())
}

/// A cursor over the file's bytes. Invariant: `pos <= bytes.len()`.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    fn remaining(&self) -> u64 {
        self.rest().len() as u64
    }

    fn truncated(&self, what: &'static str, needed: u64) -> GgufError {
        GgufError::Truncated {
            what,
            offset: self.pos as u64,
            needed,
            available: self.remaining(),
        }
    }

    /// The next `n` bytes. `n` comes from the file, so it is checked, never trusted.
    fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], GgufError> {
        let slice = usize::try_from(n).ok().and_then(|n| self.rest().get(..n));
        let slice = slice.ok_or_else(|| self.truncated(what, n))?;
        self.pos += slice.len();
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], GgufError> {
        let head = self.rest().first_chunk::<N>().copied();
        let head = head.ok_or_else(|| self.truncated(what, N as u64))?;
        self.pos += N;
        Ok(head)
    }

    /// A little-endian number, e.g. `r.le("u32 value", u32::from_le_bytes)`.
    fn le<const N: usize, T>(
        &mut self,
        what: &'static str,
        from: fn([u8; N]) -> T,
    ) -> Result<T, GgufError> {
        Ok(from(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, GgufError> {
        self.le(what, u32::from_le_bytes)
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, GgufError> {
        self.le(what, u64::from_le_bytes)
    }

    /// A u64 length, then that many UTF-8 bytes.
    fn string(&mut self, what: &'static str) -> Result<String, GgufError> {
        let len = self.u64(what)?;
        let bytes = self.take(len, what)?;
        let s = std::str::from_utf8(bytes).map_err(|_| GgufError::InvalidUtf8 { what })?;
        Ok(s.to_owned())
    }

    /// Refuse a header count that the bytes left cannot possibly hold.
    fn check_count(&self, what: &'static str, count: u64, min_each: u64) -> Result<(), GgufError> {
        let (available, max) = (self.remaining(), self.remaining() / min_each);
        if count > max {
            return Err(GgufError::CountTooLarge {
                what,
                count,
                max,
                available,
            });
        }
        Ok(())
    }
}

/// `u64` to `usize`, saturating (only 32-bit targets can saturate; the
/// saturated value then fails the bounds checks that follow it).
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
