//! Chapter 9 exercise: read the header of a GGUF file.
//!
//! Every GGUF file starts with 24 bytes that say what kind of file it is and
//! how much follows, all integers little-endian:
//!
//! | offset | size | field                                  |
//! |--------|------|----------------------------------------|
//! | 0      | 4    | magic: the ASCII bytes `G` `G` `U` `F` |
//! | 4      | 4    | version, a u32 (this exercise reads 2 and 3) |
//! | 8      | 8    | tensor count, a u64                    |
//! | 16     | 8    | metadata key/value count, a u64        |
//!
//! Check your work with `./check.sh ch09-gguf-header` (from `exercises/`).
//! The tests compare your reader with `locallm-quant`'s on the real model file.

/// The first four bytes of every GGUF file.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";

/// The size of the fixed header, in bytes.
pub const HEADER_LEN: usize = 24;

/// The versions this reader understands. Version 1 stored the counts as u32
/// and is not read by anything any more.
pub const SUPPORTED_VERSIONS: [u32; 2] = [2, 3];

/// The fixed header at the start of a GGUF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgufHeader {
    pub version: u32,
    pub tensor_count: u64,
    pub metadata_kv_count: u64,
}

/// Why some bytes are not the start of a GGUF file we can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than [`HEADER_LEN`] bytes.
    TooShort { len: usize },
    /// The first four bytes are not [`GGUF_MAGIC`].
    BadMagic([u8; 4]),
    /// A version outside [`SUPPORTED_VERSIONS`].
    UnsupportedVersion(u32),
}

/// Reads the header from the first bytes of a file.
///
/// Check, in this order: that there are enough bytes, the magic, the version.
pub fn read_header(bytes: &[u8]) -> Result<GgufHeader, HeaderError> {
    // TODO: check there are enough bytes, then the magic, then the version (refuse
    //       the ones this reader does not support), then read the two counts.
    let _ = bytes;
    todo!("read the GGUF header")
}
