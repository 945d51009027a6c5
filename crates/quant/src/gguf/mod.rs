//! The GGUF container: a header, typed key/value metadata, a directory of
//! tensors (name, shape, element type, offset), then the raw tensor data.

mod error;
mod metadata;
mod read;

pub use error::GgufError;
pub use metadata::{MetaValue, Metadata};
pub use read::{GgufFile, TensorInfo};
