//! Solution of the chapter 3 exercise.

#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub vocab: usize,
    pub d_model: usize,
    pub n_layers: usize,
    pub q_dim: usize,
    pub kv_dim: usize,
    pub ffn_dim: usize,
}

pub fn count_params(s: &Shape, tied: bool) -> usize {
    let attn = 2 * s.d_model * s.q_dim + 2 * s.d_model * s.kv_dim;
    let mlp = 3 * s.d_model * s.ffn_dim;
    let per_layer = attn + mlp + 2 * s.d_model;
    let output = if tied { 0 } else { s.d_model * s.vocab };
    s.vocab * s.d_model + s.n_layers * per_layer + s.d_model + output
}

pub fn train_flops(n_params: usize, tokens: usize) -> f64 {
    6.0 * n_params as f64 * tokens as f64
}

pub fn generate_flops(n_params: usize, tokens: usize) -> f64 {
    2.0 * n_params as f64 * tokens as f64
}
