//! Memory for weights, KV cache and scratch, and the machines it fits.

use locallm_quant::mix::{self, QuantMix};
use locallm_quant::quantize_model::mix_model;
use locallm_quant::{GgmlType, GgufFile};

use crate::SizingError;

/// What the sizes depend on: a model's parameter count and attention shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelShape {
    pub n_params: u64,
    pub n_layers: u64,
    /// Query heads: the attention scores are `n_heads × positions` per token.
    pub n_heads: u64,
    /// Key/value heads (fewer than `n_heads` with grouped-query attention).
    pub n_kv_heads: u64,
    pub head_dim: u64,
    pub n_vocab: u64,
    /// The context length the model was trained for, when known.
    pub n_ctx_train: Option<u64>,
}

impl ModelShape {
    /// The shape from a GGUF file's `{arch}.*` metadata and its tensors.
    pub fn from_gguf(gguf: &GgufFile) -> Result<ModelShape, SizingError> {
        let meta = &gguf.metadata;
        let arch = meta.architecture().unwrap_or("llama");
        let key = |k: &str| format!("{arch}.{k}");
        let get = |k: &str| {
            meta.get_u64(&key(k))
                .ok_or_else(|| SizingError::MissingKey(key(k)))
        };
        let n_heads = get("attention.head_count")?;
        let head_dim = match meta.get_u64(&key("attention.key_length")) {
            Some(d) => d,
            None => get("embedding_length")?
                .checked_div(n_heads)
                .ok_or(SizingError::Zero("attention.head_count"))?,
        };
        let n_vocab = match meta.get_u64(&key("vocab_size")) {
            Some(n) => n,
            None => meta
                .get_str_array("tokenizer.ggml.tokens")
                .map(|t| t.len() as u64)
                .ok_or_else(|| SizingError::MissingKey(key("vocab_size")))?,
        };
        ModelShape {
            n_params: gguf.n_params(),
            n_layers: get("block_count")?,
            n_heads,
            n_kv_heads: get("attention.head_count_kv").unwrap_or(n_heads),
            head_dim,
            n_vocab,
            n_ctx_train: meta.get_u64(&key("context_length")),
        }
        .checked()
    }

    /// The shape itself, or which field is zero.
    pub fn checked(self) -> Result<ModelShape, SizingError> {
        let fields = [
            (self.n_params, "parameter count"),
            (self.n_layers, "layer count"),
            (self.n_heads, "head count"),
            (self.n_kv_heads, "KV head count"),
            (self.head_dim, "head_dim"),
            (self.n_vocab, "vocabulary size"),
        ];
        match fields.into_iter().find(|&(n, _)| n == 0) {
            Some((_, what)) => Err(SizingError::Zero(what)),
            None => Ok(self),
        }
    }
}

/// The weights' size in bytes, and where the number comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub bytes: u64,
    pub bits_per_weight: f64,
    /// `"file"`, `"Q4_K_M, tensor by tensor"` or `"all q4_K: a lower bound"`.
    pub source: String,
}

/// Bits one weight of `ty` takes, its block's scales included (Q8_0: 8.5).
pub fn bits_per_weight(ty: GgmlType) -> f64 {
    ty.type_size() as f64 * 8.0 / ty.block_size() as f64
}

// ANCHOR: weights
impl Weights {
    /// `n_params` weights at `bits_per_weight` bits each.
    pub fn from_bits(n_params: u64, bits_per_weight: f64, source: String) -> Weights {
        let bytes = (n_params as f64 * bits_per_weight / 8.0).ceil() as u64;
        Weights {
            bytes,
            bits_per_weight,
            source,
        }
    }

    /// A model known only by its parameter count, quantized to `mix`: every
    /// weight at the mix's main type. Real files are a little larger (the
    /// `_M` mixes keep some tensors at 6 bits, norms stay f32), so this is a
    /// lower bound; [`Weights::of_file_as`] gives the exact size.
    pub fn of_mix(n_params: u64, mix: QuantMix) -> Weights {
        let ty = mix.default_type();
        let source = format!("all {}: a lower bound", ty.name());
        Weights::from_bits(n_params, bits_per_weight(ty), source)
    }

    /// The tensors of a GGUF file as they are stored.
    pub fn of_file(gguf: &GgufFile) -> Weights {
        let bytes = gguf.tensor_bytes();
        Weights {
            bytes,
            bits_per_weight: gguf.bits_per_weight(),
            source: "file".into(),
        }
    }

    /// The tensors of a GGUF file as `locallm quantize` would store them in
    /// `mix`: each tensor gets the type the mix rules pick for it.
    pub fn of_file_as(gguf: &GgufFile, mix: QuantMix) -> Result<Weights, SizingError> {
        let model = mix_model(gguf).map_err(|e| SizingError::MissingKey(e.to_string()))?;
        let types = mix::tensor_types(mix, &gguf.tensors, model);
        let bytes: u64 = gguf
            .tensors
            .iter()
            .zip(types)
            .map(|(t, ty)| t.n_elements() / ty.block_size() as u64 * ty.type_size() as u64)
            .sum();
        Ok(Weights {
            bytes,
            bits_per_weight: bytes as f64 * 8.0 / gguf.n_params().max(1) as f64,
            source: format!("{mix}, tensor by tensor"),
        })
    }
}
// ANCHOR_END: weights

/// A KV cache type by its ggml name (`f32`, `f16`, `q8_0`, `q4_0`, ...).
pub fn parse_cache_type(name: &str) -> Result<GgmlType, SizingError> {
    GgmlType::ALL
        .into_iter()
        .find(|t| t.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| SizingError::UnknownCacheType(name.to_string()))
}

// ANCHOR: kv_bytes
/// Bytes one position of the context takes in the cache, all layers: a key
/// row and a value row of `head_dim` numbers per KV head, each row stored in
/// whole blocks of its type (`locallm-infer`'s `CacheTypes::bytes_per_token`).
/// SmolLM2-135M in f32: 30 layers × 3 heads × (256 + 256) bytes = 46,080.
pub fn kv_bytes_per_token(
    shape: &ModelShape,
    k: GgmlType,
    v: GgmlType,
) -> Result<u64, SizingError> {
    let row = |ty: GgmlType| {
        let n = usize::try_from(shape.head_dim).map_err(|_| SizingError::Overflow("head_dim"))?;
        ty.n_bytes(n).map_err(|_| SizingError::PartialBlock {
            ty: ty.name(),
            head_dim: shape.head_dim,
            block: ty.block_size(),
        })
    };
    let per_layer = shape.n_kv_heads.checked_mul((row(k)? + row(v)?) as u64);
    per_layer
        .and_then(|b| b.checked_mul(shape.n_layers))
        .ok_or(SizingError::Overflow("KV bytes per token"))
}

/// The whole cache for `ctx` positions: `2 × layers × kv_heads × head_dim ×
/// ctx × bytes per number`, the factor 2 being keys and values.
pub fn kv_cache_bytes(
    shape: &ModelShape,
    ctx: u64,
    k: GgmlType,
    v: GgmlType,
) -> Result<u64, SizingError> {
    if ctx == 0 {
        return Err(SizingError::Zero("context length"));
    }
    kv_bytes_per_token(shape, k, v)?
        .checked_mul(ctx)
        .ok_or(SizingError::Overflow("KV cache bytes"))
}
// ANCHOR_END: kv_bytes

// ANCHOR: overhead
/// Tokens computed at once while reading a prompt (llama.cpp's default
/// `n_ubatch`); the scratch memory is sized for one such batch.
pub const UBATCH: u64 = 512;

/// The largest scratch tensors of one batch, in f32: the logits (`UBATCH ×
/// n_vocab`) and one layer's attention scores (`UBATCH × n_heads × ctx`).
/// Everything else a layer computes is `UBATCH × d_model`-sized, far smaller,
/// and is reused layer after layer.
pub fn compute_buffer_bytes(shape: &ModelShape, ctx: u64) -> u64 {
    let batch = UBATCH.min(ctx);
    4 * batch * (shape.n_vocab + shape.n_heads * ctx)
}
// ANCHOR_END: overhead

/// Will it fit: how much memory is left over, or missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Fits { spare: u64 },
    TooBig { short: u64 },
}

/// The memory a model needs at one context length.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub shape: ModelShape,
    pub weights: Weights,
    pub ctx: u64,
    pub kv_per_token: u64,
    pub kv_cache: u64,
    pub overhead: u64,
}

impl Estimate {
    pub fn new(
        shape: ModelShape,
        weights: Weights,
        ctx: u64,
        k: GgmlType,
        v: GgmlType,
    ) -> Result<Estimate, SizingError> {
        let shape = shape.checked()?;
        let kv_cache = kv_cache_bytes(&shape, ctx, k, v)?;
        let estimate = Estimate {
            shape,
            weights,
            ctx,
            kv_per_token: kv_bytes_per_token(&shape, k, v)?,
            kv_cache,
            overhead: compute_buffer_bytes(&shape, ctx),
        };
        estimate
            .weights
            .bytes
            .checked_add(estimate.kv_cache)
            .and_then(|b| b.checked_add(estimate.overhead))
            .ok_or(SizingError::Overflow("total bytes"))?;
        Ok(estimate)
    }

    pub fn total(&self) -> u64 {
        self.weights.bytes + self.kv_cache + self.overhead
    }

    pub fn verdict(&self, memory: u64) -> Verdict {
        match memory.checked_sub(self.total()) {
            Some(spare) => Verdict::Fits { spare },
            None => Verdict::TooBig {
                short: self.total() - memory,
            },
        }
    }

    /// The longest context whose cache and scratch fit in `memory` next to
    /// the weights (capped at the trained context when known), or `None`
    /// when not even the weights and logits fit. Solves `weights + logits +
    /// ctx × (kv_per_token + scores_per_position) ≤ memory` for `ctx`.
    pub fn max_context(&self, memory: u64) -> Option<u64> {
        let fixed = self.weights.bytes + 4 * UBATCH * self.shape.n_vocab;
        let per_position = self.kv_per_token + 4 * UBATCH * self.shape.n_heads;
        let ctx = memory.checked_sub(fixed)? / per_position;
        let ctx = self.shape.n_ctx_train.map_or(ctx, |train| ctx.min(train));
        (ctx > 0).then_some(ctx)
    }
}

/// What kind of memory a machine runs models from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierKind {
    /// System RAM shared with the OS, run on the CPU or an integrated GPU.
    SystemRam,
    /// A discrete GPU's own memory.
    Gpu,
    /// Apple-silicon unified memory, shared by CPU and GPU.
    Unified,
}

/// A typical machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    pub name: &'static str,
    pub kind: TierKind,
    pub memory: u64,
}

const GIB: u64 = 1 << 30;

// ANCHOR: usable
impl Tier {
    /// The memory a model can have. Assumptions, not measurements: the OS,
    /// desktop and a browser keep about 3 GiB of system RAM; a GPU's driver
    /// context and display take about 0.5 GiB of its memory; macOS lets the
    /// GPU wire about three quarters of unified memory by default.
    pub fn usable(&self) -> u64 {
        match self.kind {
            TierKind::SystemRam => self.memory.saturating_sub(3 * GIB),
            TierKind::Gpu => self.memory.saturating_sub(GIB / 2),
            TierKind::Unified => self.memory / 4 * 3,
        }
    }
}
// ANCHOR_END: usable

impl Tier {
    /// The machines of the tier table.
    pub fn all() -> Vec<Tier> {
        let ram = [(8, "integrated GPU, 8 GB RAM"), (16, "laptop, 16 GB RAM")];
        let gpu = [8, 12, 16, 24, 32].map(|gb| (gb, "discrete GPU"));
        let unified = [24, 32, 64, 96, 128, 192].map(|gb| (gb, "Apple unified memory"));
        let tier = |kind| {
            move |(gb, name): (u64, &'static str)| Tier {
                name,
                kind,
                memory: gb * GIB,
            }
        };
        ram.into_iter()
            .map(tier(TierKind::SystemRam))
            .chain(gpu.into_iter().map(tier(TierKind::Gpu)))
            .chain(unified.into_iter().map(tier(TierKind::Unified)))
            .collect()
    }
}

/// One row of the tier table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierRow {
    pub tier: Tier,
    pub verdict: Verdict,
    pub max_context: Option<u64>,
}

/// For every [`Tier`]: does the estimate fit, and the longest context that would.
pub fn tier_table(estimate: &Estimate) -> Vec<TierRow> {
    Tier::all()
        .into_iter()
        .map(|tier| TierRow {
            tier,
            verdict: estimate.verdict(tier.usable()),
            max_context: estimate.max_context(tier.usable()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SmolLM2-135M's attention: 30 layers, 9 query and 3 KV heads of 64.
    fn smollm2() -> ModelShape {
        ModelShape {
            n_params: 134_515_008,
            n_layers: 30,
            n_heads: 9,
            n_kv_heads: 3,
            head_dim: 64,
            n_vocab: 49_152,
            n_ctx_train: Some(8192),
        }
    }

    #[test]
    fn kv_bytes_per_token_match_llama_cpp() {
        // llama.cpp allocates 360 MiB (f32) and 95.6 MiB (q8_0) for 8,192 positions
        let s = smollm2();
        let f32 = kv_bytes_per_token(&s, GgmlType::F32, GgmlType::F32);
        assert_eq!(f32, Ok(46_080));
        let q8 = kv_bytes_per_token(&s, GgmlType::Q8_0, GgmlType::Q8_0);
        assert_eq!(q8, Ok(12_240)); // 2 blocks of 34 bytes per row
        let mixed = kv_bytes_per_token(&s, GgmlType::F16, GgmlType::Q4_0);
        assert_eq!(mixed, Ok(30 * 3 * (128 + 36)));
        let cache = kv_cache_bytes(&s, 8192, GgmlType::F32, GgmlType::F32);
        assert_eq!(cache, Ok(360 << 20));
    }

    #[test]
    fn bad_shapes_and_contexts_are_errors() {
        let s = smollm2();
        let zero_ctx = kv_cache_bytes(&s, 0, GgmlType::F32, GgmlType::F32);
        assert_eq!(zero_ctx, Err(SizingError::Zero("context length")));
        let odd = ModelShape { head_dim: 80, ..s };
        let err = kv_bytes_per_token(&odd, GgmlType::Q8_0, GgmlType::Q8_0).unwrap_err();
        assert!(err.to_string().contains("blocks of 32"), "{err}");
        let no_layers = ModelShape { n_layers: 0, ..s };
        let w = Weights::from_bits(1, 8.0, String::new());
        let err = Estimate::new(no_layers, w, 10, GgmlType::F32, GgmlType::F32);
        assert_eq!(err, Err(SizingError::Zero("layer count")));
        assert!(parse_cache_type("q9_9").is_err());
        assert_eq!(parse_cache_type("Q8_0"), Ok(GgmlType::Q8_0));
    }

    #[test]
    fn weights_of_a_mix_use_its_block_size() {
        // 8 × 10⁹ weights in Q4_K (144 bytes per 256) = 4.5 bits each
        let w = Weights::of_mix(8_000_000_000, QuantMix::Q4_K_M);
        assert_eq!(w.bits_per_weight, 4.5);
        assert_eq!(w.bytes, 4_500_000_000);
        assert_eq!(bits_per_weight(GgmlType::Q8_0), 8.5);
        assert_eq!(bits_per_weight(GgmlType::F16), 16.0);
    }

    #[test]
    fn estimate_adds_up_and_max_context_fits() {
        let s = smollm2();
        let w = Weights::from_bits(s.n_params, 5.0, String::new());
        let e = Estimate::new(s, w.clone(), 4096, GgmlType::F32, GgmlType::F32).unwrap();
        assert_eq!(e.kv_cache, 4096 * 46_080);
        assert_eq!(e.overhead, 4 * 512 * (49_152 + 9 * 4096));
        assert_eq!(e.total(), w.bytes + e.kv_cache + e.overhead);
        assert_eq!(e.verdict(e.total()), Verdict::Fits { spare: 0 });
        assert_eq!(e.verdict(e.total() - 1), Verdict::TooBig { short: 1 });
        // the longest context that fits a memory is one whose estimate fits it
        let memory = 300 << 20;
        let ctx = e.max_context(memory).unwrap();
        let at = |ctx| Estimate::new(s, w.clone(), ctx, GgmlType::F32, GgmlType::F32).unwrap();
        assert!(at(ctx).total() <= memory);
        assert!(at(ctx + 1).total() > memory);
        assert_eq!(e.max_context(w.bytes), None);
        assert_eq!(e.max_context(u64::MAX / 2), Some(8192)); // the trained context
    }

    #[test]
    fn tiers_cover_the_machines_and_scale() {
        let tiers = Tier::all();
        assert_eq!(tiers.len(), 13);
        let laptop = tiers.iter().find(|t| t.name.starts_with("laptop")).unwrap();
        assert_eq!(laptop.usable(), 13 * GIB);
        // a 70B model in Q4_K (~37 GiB) fits only the large unified-memory machines
        let big = ModelShape {
            n_params: 70_000_000_000,
            n_layers: 80,
            n_heads: 64,
            n_kv_heads: 8,
            head_dim: 128,
            n_vocab: 128_256,
            n_ctx_train: None,
        };
        let w = Weights::of_mix(big.n_params, QuantMix::Q4_K_M);
        let e = Estimate::new(big, w, 8192, GgmlType::F16, GgmlType::F16).unwrap();
        let fits: Vec<_> = tier_table(&e)
            .into_iter()
            .filter(|r| matches!(r.verdict, Verdict::Fits { .. }))
            .map(|r| r.tier.memory / GIB)
            .collect();
        assert_eq!(fits, [64, 96, 128, 192]);
    }

    #[test]
    fn the_default_model_file_gives_its_real_size() {
        let path = locallm_models::default_model().unwrap();
        let gguf = GgufFile::open(&path).unwrap();
        let shape = ModelShape::from_gguf(&gguf).unwrap();
        assert_eq!(
            (shape.n_layers, shape.n_heads, shape.n_kv_heads),
            (30, 9, 3)
        );
        assert_eq!((shape.head_dim, shape.n_vocab), (64, 49_152));
        let w = Weights::of_file(&gguf);
        assert_eq!(w.bytes, gguf.tensor_bytes());
        // mostly Q4_1 (5 bits per weight) with a Q8_0 embedding and f32 norms
        assert!(w.bits_per_weight > 5.0 && w.bits_per_weight < 8.5, "{w:?}");
        let file_len = std::fs::metadata(&path).unwrap().len();
        assert!(w.bytes < file_len && file_len - w.bytes < 4 << 20);
        // as Q8_0 every 2-D tensor takes 8.5 bits: larger than the Q4_1 file
        let q8 = Weights::of_file_as(&gguf, QuantMix::Q8_0).unwrap();
        assert!(
            q8.bytes > w.bytes && q8.bits_per_weight <= 8.5 + 0.1,
            "{q8:?}"
        );
    }
}
