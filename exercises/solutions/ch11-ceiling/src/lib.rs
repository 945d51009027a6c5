//! Solution of the chapter 11 exercise.

#[derive(Debug, Clone, PartialEq)]
pub struct TensorEntry {
    pub name: String,
    pub bytes: u64,
}

pub fn bytes_read_per_token(tensors: &[TensorEntry]) -> u64 {
    let tied = !tensors.iter().any(|t| t.name == "output.weight");
    tensors
        .iter()
        .filter(|t| t.name != "token_embd.weight" || tied)
        .map(|t| t.bytes)
        .sum()
}

pub fn ceiling_tok_s(bandwidth_gb_s: f64, bytes_per_token: u64) -> f64 {
    bandwidth_gb_s * 1e9 / bytes_per_token as f64
}
