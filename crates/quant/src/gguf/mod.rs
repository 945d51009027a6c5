//! The GGUF container: a header, typed key/value metadata, a directory of
//! tensors (name, shape, element type, offset), then the raw tensor data.
//! [`GgufFile`] reads one; [`write_gguf`] writes one.

mod error;
mod metadata;
mod read;
mod write;

pub use error::GgufError;
pub use metadata::{MetaValue, Metadata};
pub use read::{GgufFile, TensorInfo};
pub use write::{BoxError, GGUF_VERSION, GgufWriteError, write_gguf};
