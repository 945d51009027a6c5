//! Model families: what the forward pass does differently for each.
//!
//! Llama, Qwen, Gemma and Phi are one design — embedding, N blocks of
//! normed attention and a gated MLP added to a residual stream, a final norm,
//! an output layer — that differ in a handful of switches. They are read
//! here, from `general.architecture` and the `<arch>.*` keys of the GGUF
//! file, into [`Switches`]; the modules of the model read them, so there is
//! one forward pass, not one per family. Each default below is llama.cpp's
//! (the commit of `scripts/reference/build_llamacpp.sh`), cited by file.

use locallm_quant::Metadata;

use crate::ModelError;
use crate::config::LlamaConfig;

// ANCHOR: family
/// The architectures this crate runs, by their `general.architecture` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Llama 1–3.x, SmolLM, Mistral-style files (also `llama` in GGUF).
    Llama,
    /// Qwen 2 / 2.5: biases on the Q, K and V projections.
    Qwen2,
    /// Qwen 3: RMSNorm on each query and key head, no biases.
    Qwen3,
    /// Gemma 3: √d-scaled embedding, norms before *and after* each sub-layer,
    /// GELU gate, Q/K norms, sliding-window layers between global ones.
    Gemma3,
    /// Phi-3: Q, K, V in one fused matrix, gate and up in another.
    Phi3,
}
// ANCHOR_END: family

impl Family {
    pub const ALL: [Family; 5] = [
        Family::Llama,
        Family::Qwen2,
        Family::Qwen3,
        Family::Gemma3,
        Family::Phi3,
    ];

    /// The `general.architecture` value.
    pub fn name(self) -> &'static str {
        match self {
            Family::Llama => "llama",
            Family::Qwen2 => "qwen2",
            Family::Qwen3 => "qwen3",
            Family::Gemma3 => "gemma3",
            Family::Phi3 => "phi3",
        }
    }

    /// "llama, qwen2, qwen3, gemma3, phi3", for messages.
    pub fn supported() -> String {
        Family::ALL.map(Family::name).join(", ")
    }

    /// The family of a file, read from `general.architecture` alone: the
    /// first check on a file, before its tokenizer or any tensor.
    pub fn of(meta: &Metadata) -> Result<Family, ModelError> {
        let arch = meta
            .architecture()
            .ok_or(ModelError::MissingKey("general.architecture".into()))?;
        Family::ALL
            .into_iter()
            .find(|f| f.name() == arch)
            .ok_or_else(|| ModelError::UnsupportedArchitecture(arch.to_string()))
    }

    /// Which channels RoPE rotates together: llama.cpp's `llama_model_rope_type`
    /// (src/llama-model.cpp) gives `LLAMA_ROPE_TYPE_NORM` to llama and
    /// `LLAMA_ROPE_TYPE_NEOX` to the other four.
    pub fn rope_style(self) -> RopeStyle {
        match self {
            Family::Llama => RopeStyle::Adjacent,
            _ => RopeStyle::Halves,
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which pairs of a head's channels RoPE rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// `(x[2i], x[2i+1])`: llama.cpp's "normal" RoPE (GGUF `llama` files,
    /// whose Q/K rows the converter permuted to fit it).
    Adjacent,
    /// `(x[i], x[i + d/2])`: "NeoX" style, Hugging Face's `rotate_half`.
    Halves,
}

/// The MLP's gate activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// SwiGLU: `silu(gate) * up`.
    Silu,
    /// GeGLU with the tanh approximation of GELU: `gelu_tanh(gate) * up`.
    GeluTanh,
    /// The same, rounded through f16 as llama.cpp's CPU code does (see
    /// `mlp::gelu_tanh_f16_table`): to compare with it, never the default.
    GeluTanhF16Table,
}

// ANCHOR: switches
/// Everything in which the families' forward passes differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Switches {
    pub family: Family,
    pub rope_style: RopeStyle,
    pub activation: Activation,
    /// The embedding is multiplied by this (Gemma: √d_model).
    pub embed_scale: Option<f32>,
    /// An RMSNorm after attention and after the MLP too (Gemma).
    pub post_norms: bool,
    /// An RMSNorm over each query and key head before RoPE (Qwen 3, Gemma 3).
    pub qk_norm: bool,
    /// What the query·key scores are multiplied by (1/√head_dim, but see Gemma).
    pub attn_scale: f32,
    /// `Some(w)`: sliding-window layers see only the last `w` positions.
    pub sliding_window: Option<usize>,
    /// For each layer, whether it is a sliding-window one.
    pub swa_layers: Vec<bool>,
    /// RoPE base of the sliding-window layers (global ones use `rope_base`);
    /// they are never linearly scaled (src/llama-hparams.h: `rope_freq_scale_train_swa = 1`).
    pub rope_base_swa: f32,
    /// Linear RoPE scaling: positions are multiplied by this (1 = none).
    pub rope_freq_scale: f32,
    /// Logits are squashed into `cap · tanh(logit / cap)`.
    pub final_softcap: Option<f32>,
}
// ANCHOR_END: switches

impl Switches {
    /// Plain Llama: what [`crate::Llama::init`] builds for training.
    pub fn llama(config: &LlamaConfig) -> Self {
        Switches {
            family: Family::Llama,
            rope_style: RopeStyle::Adjacent,
            activation: Activation::Silu,
            embed_scale: None,
            post_norms: false,
            qk_norm: false,
            attn_scale: 1.0 / (config.head_dim as f32).sqrt(),
            sliding_window: None,
            swa_layers: vec![false; config.n_layers],
            rope_base_swa: config.rope_base,
            rope_freq_scale: 1.0,
            final_softcap: None,
        }
    }

    /// The switches of the file's family, with the values its metadata gives.
    pub fn from_metadata(meta: &Metadata, config: &LlamaConfig) -> Result<Self, ModelError> {
        let family = Family::of(meta)?;
        let key = |k: &str| format!("{family}.{k}");
        let mut s = Switches {
            family,
            rope_style: family.rope_style(),
            rope_freq_scale: rope_freq_scale(meta, family)?,
            ..Switches::llama(config)
        };
        if family == Family::Gemma3 {
            // src/models/gemma3.cpp, load_arch_hparams and graph
            s.activation = Activation::GeluTanh; // LLM_FFN_GELU (ggml_gelu is the tanh form)
            s.embed_scale = Some((config.d_model as f32).sqrt()); // line 91
            s.post_norms = true;
            s.qk_norm = true;
            // lines 29-31: Gemma 3 27B scales queries by 1/√(d_model/n_heads)
            // (62 layers is how llama.cpp recognises it), the others by 1/√head_dim
            if config.n_layers == 62 {
                s.attn_scale = 1.0 / ((config.d_model / config.n_heads) as f32).sqrt();
            }
            if let Some(w) = meta
                .get_u64(&key("attention.sliding_window"))
                .filter(|&w| w > 0)
            {
                s.sliding_window = Some(w as usize);
                // line 7: load_swa_pattern(ml, 6) — every 6th layer global,
                // unless the file says otherwise; src/llama-hparams.cpp
                // set_swa_pattern: layer il is SWA iff il % n < n - 1
                let n = meta
                    .get_u64(&key("attention.sliding_window_pattern"))
                    .unwrap_or(6) as usize;
                s.swa_layers = (0..config.n_layers)
                    .map(|il| n == 0 || il % n < n - 1)
                    .collect();
                // line 9, and src/llama-hparams.h: rope_freq_base_train_swa = 10000
                s.rope_base_swa =
                    meta.get_f64(&key("rope.freq_base_swa")).unwrap_or(10_000.0) as f32;
            }
            s.final_softcap = meta
                .get_f64(&key("final_logit_softcapping"))
                .filter(|&c| c != 0.0)
                .map(|c| c as f32);
        }
        if family == Family::Qwen3 {
            s.qk_norm = true;
        }
        // src/models/phi3.cpp: a sliding window in a phi3 file is ignored
        // ("Phi SWA is currently disabled"), and so it is here.
        Ok(s)
    }

    /// Whether layer `layer` is a sliding-window one.
    pub fn is_swa(&self, layer: usize) -> bool {
        self.swa_layers.get(layer).copied().unwrap_or(false)
    }
}

/// `rope.scaling.type`: none or linear (`factor` f → positions × 1/f), as
/// llama.cpp's `load_hparams` reads it (src/llama-model.cpp); Llama 3's
/// scaling is not a type but a `rope_freqs` tensor (see `load.rs`). YaRN and
/// LongRoPE change more than the frequencies: refused, by name.
fn rope_freq_scale(meta: &Metadata, family: Family) -> Result<f32, ModelError> {
    let key = |k: &str| format!("{family}.rope.scaling.{k}");
    let kind = meta.get_str(&key("type")).unwrap_or("linear");
    if kind != "linear" && kind != "none" {
        return Err(ModelError::BadConfig(format!(
            "RoPE scaling `{kind}` ({family}.rope.scaling.type) is not supported (only linear and llama3's rope_freqs are)"
        )));
    }
    let factor = meta
        .get_f64(&key("factor"))
        .or_else(|| meta.get_f64(&format!("{family}.rope.scale_linear")))
        .unwrap_or(0.0);
    Ok(if kind == "none" || factor == 0.0 {
        1.0
    } else {
        (1.0 / factor) as f32
    })
}

// ANCHOR: describe
/// One row of the book's table of families (chapter 9): how this code sees
/// the model in `gguf`, in words — norms, activation, attention, RoPE,
/// vocabulary and tokenizer. Everything is read as the loader reads it.
pub fn describe(gguf: &locallm_quant::GgufFile) -> Result<[String; 7], ModelError> {
    let meta = &gguf.metadata;
    let c = LlamaConfig::from_metadata(meta)?;
    let s = Switches::from_metadata(meta, &c)?;
    let has = |name: &str| gguf.tensor(name).is_some();
    let mut norm = String::from("RMSNorm before each sub-layer");
    if s.post_norms {
        norm += " and after";
    }
    if s.qk_norm {
        norm += "; on Q/K heads";
    }
    let activation = match s.activation {
        Activation::Silu => "SwiGLU",
        Activation::GeluTanh | Activation::GeluTanhF16Table => "GeGLU (tanh GELU)",
    };
    let mut attention = format!("{} heads of {}, {} KV", c.n_heads, c.head_dim, c.n_kv_heads);
    if has("blk.0.attn_qkv.weight") {
        attention += ", fused QKV";
    }
    if has("blk.0.attn_q.bias") {
        attention += ", QKV biases";
    }
    if let Some(w) = s.sliding_window {
        let local = s.swa_layers.iter().filter(|&&l| l).count();
        attention += &format!(", window {w} on {local} of {} layers", c.n_layers);
    }
    let mut rope = format!(
        "{}, base {}",
        match s.rope_style {
            RopeStyle::Adjacent => "adjacent pairs",
            RopeStyle::Halves => "halves",
        },
        c.rope_base
    );
    if s.sliding_window.is_some() {
        rope += &format!(" (local {})", s.rope_base_swa);
    }
    if s.rope_freq_scale != 1.0 {
        rope += &format!(", linear ×{}", s.rope_freq_scale);
    }
    if s.family == Family::Llama && has("rope_freqs.weight") {
        rope += ", Llama 3 factors";
    }
    let tokenizer = match (
        meta.get_str("tokenizer.ggml.model"),
        meta.get_str("tokenizer.ggml.pre"),
    ) {
        (Some("llama"), _) => "SentencePiece (`llama`)".to_string(),
        (Some(m), Some(pre)) => format!("byte-level BPE (`{m}`, `{pre}`)"),
        (m, _) => format!("`{}`", m.unwrap_or("none")),
    };
    Ok([
        s.family.to_string(),
        norm,
        activation.to_string(),
        attention,
        rope,
        c.vocab_size.to_string(),
        tokenizer,
    ])
}
// ANCHOR_END: describe

/// The markdown table of [`describe`] for `files` (paths, shown by file name).
pub fn table(files: &[impl AsRef<std::path::Path>]) -> Result<String, ModelError> {
    let mut out = String::from(
        "| file | family | norms | activation | attention | RoPE | vocabulary | tokenizer |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for path in files {
        let path = path.as_ref();
        let gguf = locallm_quant::GgufFile::open(path)?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        out += &format!("| `{name}` | {} |\n", describe(&gguf)?.join(" | "));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use locallm_quant::MetaValue;

    fn meta(arch: &str) -> Metadata {
        let mut m = Metadata::default();
        let key = "general.architecture".to_string();
        m.entries.insert(key, MetaValue::String(arch.into()));
        m
    }

    #[test]
    fn an_unknown_architecture_is_named_with_the_supported_list() {
        let err = Family::of(&meta("bert")).unwrap_err().to_string();
        assert!(
            err.contains("`bert`") && err.contains(&Family::supported()),
            "{err}"
        );
        for f in Family::ALL {
            assert_eq!(Family::of(&meta(f.name())).unwrap(), f);
        }
    }
}
