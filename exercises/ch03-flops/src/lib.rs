//! Chapter 3 exercise: how many numbers a Llama has, and what training and
//! generating cost.
//!
//! Count the weights of a Llama from its shape:
//!
//! - the embedding table: `vocab × d_model`;
//! - per layer, attention: `q` is `d_model × q_dim`, `k` and `v` are
//!   `d_model × kv_dim` each, the output `o` is `q_dim × d_model`;
//! - per layer, the MLP: `gate` and `up` are `d_model × ffn_dim`, `down` is
//!   `ffn_dim × d_model`;
//! - per layer, two RMSNorm gains of `d_model`; one more before the output;
//! - the output layer, `d_model × vocab`, unless it is *tied* to the
//!   embedding table (SmolLM2's is), in which case it adds nothing.
//!
//! Then the rule of thumb (Kaplan et al. 2020): training costs about `6·N`
//! floating-point operations per token (`2·N` forward, `4·N` backward),
//! generating costs about `2·N` per token (a multiply and an add per weight).
//!
//! Check your work with `./check.sh ch03-flops` (from `exercises/`).

/// The shape of a Llama model.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub vocab: usize,
    pub d_model: usize,
    pub n_layers: usize,
    pub q_dim: usize,
    pub kv_dim: usize,
    pub ffn_dim: usize,
}

/// The number of parameters; `tied`: the output layer is the embedding table.
pub fn count_params(s: &Shape, tied: bool) -> usize {
    // TODO: embedding + n_layers × (attention + MLP + two norms) + final
    //       norm, plus the output layer when it is not tied.
    let _ = (s, tied);
    todo!("the number of weights")
}

/// FLOPs to train `n_params` weights on `tokens` tokens.
pub fn train_flops(n_params: usize, tokens: usize) -> f64 {
    // TODO: 6 · N · D, computed in f64 (it overflows a u64 for big models).
    let _ = (n_params, tokens);
    todo!("6 N D")
}

/// FLOPs to generate `tokens` tokens with `n_params` weights.
pub fn generate_flops(n_params: usize, tokens: usize) -> f64 {
    // TODO: 2 · N per token.
    let _ = (n_params, tokens);
    todo!("2 N per token")
}
