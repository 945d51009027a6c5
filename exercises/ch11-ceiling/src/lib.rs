//! Chapter 11 exercise: how fast can a model decode on a machine, at most?
//!
//! Each decoded token runs every weight matrix once, so it reads every
//! weight from memory once. No engine can decode faster than
//!
//! ```text
//! ceiling (tokens/s) = bandwidth (bytes/s) / bytes read per token
//! ```
//!
//! Bytes read per token: every tensor of the file, once — except the token
//! embedding table, of which one row is read (count it as nothing). But when
//! the file has no `output.weight`, the embedding table doubles as the output
//! layer ("tied embeddings") and is then read in full, once.
//!
//! Check your work with `./check.sh ch11-ceiling` (from `exercises/`). The
//! tests compare your count with `locallm-model`'s for the real model.

/// One tensor of a GGUF file: its name and its size in bytes as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorEntry {
    pub name: String,
    pub bytes: u64,
}

/// Bytes of weights one decoded token reads.
pub fn bytes_read_per_token(tensors: &[TensorEntry]) -> u64 {
    // TODO: add up every tensor but `token_embd.weight`...
    // TODO: ...and add `token_embd.weight` after all if there is no `output.weight`.
    let _ = tensors;
    todo!("bytes read per token")
}

/// The ceiling in tokens per second for a bandwidth in GB/s (10⁹ bytes/s).
pub fn ceiling_tok_s(bandwidth_gb_s: f64, bytes_per_token: u64) -> f64 {
    // TODO
    let _ = (bandwidth_gb_s, bytes_per_token);
    todo!("bandwidth over bytes")
}
