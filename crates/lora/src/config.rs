//! What to adapt and how strongly.

use crate::LoraError;

/// A projection inside a block that can carry an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Target {
    pub const ALL: [Target; 7] = [
        Target::Q,
        Target::K,
        Target::V,
        Target::O,
        Target::Gate,
        Target::Up,
        Target::Down,
    ];

    /// The short name used on the command line (`q`, `gate`, ...).
    pub fn short(self) -> &'static str {
        match self {
            Target::Q => "q",
            Target::K => "k",
            Target::V => "v",
            Target::O => "o",
            Target::Gate => "gate",
            Target::Up => "up",
            Target::Down => "down",
        }
    }

    /// The module name in Hugging Face Llama checkpoints, which PEFT uses.
    pub fn hf_name(self) -> &'static str {
        match self {
            Target::Q => "q_proj",
            Target::K => "k_proj",
            Target::V => "v_proj",
            Target::O => "o_proj",
            Target::Gate => "gate_proj",
            Target::Up => "up_proj",
            Target::Down => "down_proj",
        }
    }

    /// `self_attn` or `mlp`: the parent module in Hugging Face naming.
    pub fn hf_parent(self) -> &'static str {
        match self {
            Target::Q | Target::K | Target::V | Target::O => "self_attn",
            _ => "mlp",
        }
    }

    /// The GGUF tensor name stem (`blk.N.<stem>.weight`).
    pub fn gguf_name(self) -> &'static str {
        match self {
            Target::Q => "attn_q",
            Target::K => "attn_k",
            Target::V => "attn_v",
            Target::O => "attn_output",
            Target::Gate => "ffn_gate",
            Target::Up => "ffn_up",
            Target::Down => "ffn_down",
        }
    }

    /// Accepts the short name or the Hugging Face name.
    pub fn parse(s: &str) -> Result<Target, LoraError> {
        Target::ALL
            .into_iter()
            .find(|t| t.short() == s || t.hf_name() == s)
            .ok_or_else(|| {
                LoraError::Config(format!(
                    "unknown target `{s}` (expected q, k, v, o, gate, up or down)"
                ))
            })
    }

    /// A comma-separated list such as `q,k,v,o`.
    pub fn parse_list(s: &str) -> Result<Vec<Target>, LoraError> {
        let mut out: Vec<Target> = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| Target::parse(p.trim()))
            .collect::<Result<_, _>>()?;
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err(LoraError::Config("no target modules given".into()));
        }
        Ok(out)
    }
}

/// The adapter's shape and strength.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraConfig {
    /// Rank `r` of `A·B`.
    pub rank: usize,
    /// `alpha`: the update is scaled by `alpha / r`.
    pub alpha: f32,
    /// rsLoRA (Kalajdzievski 2023): scale by `alpha / sqrt(r)` instead, which
    /// keeps the update's size stable as the rank grows.
    pub rslora: bool,
    pub targets: Vec<Target>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        LoraConfig {
            rank: 8,
            alpha: 16.0,
            rslora: false,
            targets: Target::ALL.to_vec(),
        }
    }
}

impl LoraConfig {
    // ANCHOR: scale
    /// The factor in front of `A·B`.
    pub fn scale(&self) -> f32 {
        if self.rslora {
            self.alpha / (self.rank as f32).sqrt()
        } else {
            self.alpha / self.rank as f32
        }
    }
    // ANCHOR_END: scale

    pub fn validate(&self) -> Result<(), LoraError> {
        if self.rank == 0 {
            return Err(LoraError::Config("rank must be at least 1".into()));
        }
        if !self.alpha.is_finite() || self.alpha <= 0.0 {
            return Err(LoraError::Config(format!(
                "alpha must be positive, got {}",
                self.alpha
            )));
        }
        if self.targets.is_empty() {
            return Err(LoraError::Config("no target modules".into()));
        }
        Ok(())
    }
}
