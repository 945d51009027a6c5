//! The hyper-parameters of a model, read from GGUF metadata.
//!
//! Nothing here is a constant of SmolLM2: every number comes from the
//! `<arch>.*` keys of the file (`llama.*`, `qwen2.*`, `gemma3.*`...), so any
//! GGUF of a supported family configures itself. What the families do
//! differently is in [`crate::family`].

use locallm_quant::Metadata;

use crate::ModelError;
use crate::family::Family;

// ANCHOR: config
/// Everything the forward pass needs to know about the architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Rows of the embedding table (= columns of the output layer).
    pub vocab_size: usize,
    /// Width of the residual stream (`llama.embedding_length`).
    pub d_model: usize,
    /// Number of transformer blocks (`llama.block_count`).
    pub n_layers: usize,
    /// Query heads per layer (`llama.attention.head_count`).
    pub n_heads: usize,
    /// Key/value heads per layer; fewer than `n_heads` means grouped-query attention.
    pub n_kv_heads: usize,
    /// Width of one head: `llama.attention.key_length` when the file says
    /// (a structurally pruned model keeps its head width but has fewer heads),
    /// else `d_model / n_heads`.
    pub head_dim: usize,
    /// Hidden width of the SwiGLU MLP (`llama.feed_forward_length`).
    pub ffn_dim: usize,
    /// Base of the RoPE frequencies (`llama.rope.freq_base`, 10000 by default).
    pub rope_base: f32,
    /// Epsilon inside RMSNorm (`llama.attention.layer_norm_rms_epsilon`).
    pub rms_eps: f32,
    /// The context length the model was trained for (`llama.context_length`).
    pub context_length: usize,
}
// ANCHOR_END: config

impl LlamaConfig {
    /// Reads the configuration from the `<arch>.*` metadata of a supported
    /// family; any other architecture is refused first, by name.
    pub fn from_metadata(meta: &Metadata) -> Result<Self, ModelError> {
        let arch = Family::of(meta)?.name();
        let int = |key: &str| -> Result<usize, ModelError> {
            let full = format!("{arch}.{key}");
            let v = meta.get_u64(&full).ok_or(ModelError::MissingKey(full))?;
            usize::try_from(v)
                .map_err(|_| ModelError::BadConfig(format!("{arch}.{key} = {v} is too large")))
        };
        let float = |key: &str, default: f64| {
            meta.get_f64(&format!("{arch}.{key}")).unwrap_or(default) as f32
        };

        let d_model = int("embedding_length")?;
        let n_heads = int("attention.head_count")?;
        let n_kv_heads = meta
            .get_u64(&format!("{arch}.attention.head_count_kv"))
            .map(|v| v as usize)
            .unwrap_or(n_heads);
        // The vocabulary size is optional in llama.* metadata; the token list is authoritative.
        let vocab_size = match meta.get_u64(&format!("{arch}.vocab_size")) {
            Some(v) => v as usize,
            None => meta
                .get("tokenizer.ggml.tokens")
                .and_then(|v| v.as_array())
                .map(|a| a.len())
                .ok_or(ModelError::MissingKey(format!("{arch}.vocab_size")))?,
        };
        let config = LlamaConfig {
            vocab_size,
            d_model,
            n_layers: int("block_count")?,
            n_heads,
            n_kv_heads,
            head_dim: match meta.get_u64(&format!("{arch}.attention.key_length")) {
                Some(k) => usize::try_from(k).unwrap_or(0),
                // 0 (rejected below) when d_model is not a multiple of n_heads
                None if d_model.is_multiple_of(n_heads.max(1)) => d_model / n_heads.max(1),
                None => 0,
            },
            ffn_dim: int("feed_forward_length")?,
            rope_base: float("rope.freq_base", 10_000.0),
            rms_eps: float("attention.layer_norm_rms_epsilon", 1e-5),
            context_length: int("context_length")?,
        };
        config.validate()?;
        // llama.cpp allows a value width or a rotary width different from
        // the key width for some families; none of ours uses it
        for k in ["attention.value_length", "rope.dimension_count"] {
            match meta.get_u64(&format!("{arch}.{k}")) {
                Some(v) if v as usize != config.head_dim => {
                    return Err(ModelError::BadConfig(format!(
                        "{arch}.{k} = {v} differs from the head width {} (not supported)",
                        config.head_dim
                    )));
                }
                _ => {}
            }
        }
        Ok(config)
    }

    /// Checks the relations the forward pass relies on, so that a lying file
    /// fails here with a sentence instead of deep inside a matmul.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |msg: String| Err(ModelError::BadConfig(msg));
        if self.n_heads == 0 || self.n_kv_heads == 0 || self.n_layers == 0 || self.vocab_size == 0 {
            return bad(format!("zero-sized config: {self:?}"));
        }
        if self.head_dim == 0 || self.n_heads.checked_mul(self.head_dim).is_none() {
            return bad(format!(
                "head_dim {} with {} heads: d_model {} is not a multiple of n_heads, or key_length is wrong",
                self.head_dim, self.n_heads, self.d_model
            ));
        }
        if !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return bad(format!(
                "n_heads {} is not a multiple of n_kv_heads {}",
                self.n_heads, self.n_kv_heads
            ));
        }
        if !self.head_dim.is_multiple_of(2) {
            return bad(format!("head_dim {} must be even for RoPE", self.head_dim));
        }
        Ok(())
    }

    /// How many query heads share one key/value head.
    pub fn group_size(&self) -> usize {
        self.n_heads / self.n_kv_heads
    }

    /// Width of the query projection (= input of the output projection):
    /// `n_heads * head_dim`, which is `d_model` unless heads were pruned.
    pub fn q_dim(&self) -> usize {
        self.n_heads * self.head_dim
    }

    /// Width of the key (or value) projection: `n_kv_heads * head_dim`.
    pub fn kv_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }

    /// Number of parameters, counted from the shapes (tied output counted once).
    pub fn n_params(&self) -> usize {
        let attn = self.d_model * self.q_dim() * 2 + self.d_model * self.kv_dim() * 2;
        let mlp = 3 * self.d_model * self.ffn_dim;
        let norms = 2 * self.d_model;
        self.vocab_size * self.d_model + self.n_layers * (attn + mlp + norms) + self.d_model
    }

    /// A small random-weight config for fast tests and the training chapters.
    pub fn tiny() -> Self {
        LlamaConfig {
            vocab_size: 64,
            d_model: 32,
            n_layers: 2,
            n_heads: 4,
            n_kv_heads: 2,
            head_dim: 8,
            ffn_dim: 64,
            rope_base: 10_000.0,
            rms_eps: 1e-5,
            context_length: 128,
        }
    }
}
