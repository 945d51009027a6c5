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
/// Prompt tokens computed per forward pass: llama.cpp's default `n_ubatch`
/// and `locallm-infer`'s `PREFILL_BATCH`. Scratch memory is sized for one
/// such batch.
pub const UBATCH: u64 = 512;

/// The program that runs the model. Weights and KV cache take the same bytes
/// in every runtime; the scratch of a forward pass and the program do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// This workspace's engine (`locallm generate`, `chat`, `serve`).
    Locallm,
    /// llama.cpp, also the engine inside Ollama and LM Studio.
    LlamaCpp,
}

impl Runtime {
    /// Scratch memory of one batch at context `ctx`. A batch's tensors are
    /// its logits (`batch × n_vocab` in f32), one layer's attention scores
    /// (`batch × n_heads × ctx`) where a runtime holds them, and tensors
    /// `batch` rows by a few `d_model` wide, of which the gated MLP's gate
    /// and up are the widest (about 3 × `d_model` each: 2.7 in SmolLM2,
    /// 3.2 in Gemma 3, 3.5 in Llama 3 8B).
    pub fn scratch_bytes(self, shape: &ModelShape, ctx: u64) -> u64 {
        let batch = UBATCH.min(ctx);
        let scores = 4 * batch * shape.n_heads * ctx;
        match self {
            // the fast path's fused attention keeps one query's scores per
            // thread, never a layer's; the engine computes logits for the
            // last position only: what is left is the MLP's gate and up
            Runtime::Locallm => 4 * batch * 6 * shape.n_heads * shape.head_dim + 4 * shape.n_vocab,
            // ggml plans the whole graph before running it and lays tensors
            // that are never alive together over the same bytes, so its
            // compute buffer is the larger of the two. It reserves logits
            // for every position of the batch.
            Runtime::LlamaCpp => scores.max(4 * batch * shape.n_vocab),
        }
    }

    /// The program itself: code, tokenizer, thread stacks, allocator.
    /// Measured, not derived: peak RSS minus weights and cache after a
    /// 16-token prompt (`llama-bench -p 16`) or a 64-token one (`locallm
    /// bench -p 64`) on the default model, Linux x86-64.
    pub fn program_bytes(self) -> u64 {
        match self {
            Runtime::Locallm => 40 << 20,
            Runtime::LlamaCpp => 32 << 20,
        }
    }
}
// ANCHOR_END: overhead

/// A runtime by name: `locallm` or `llama.cpp`.
pub fn parse_runtime(name: &str) -> Result<Runtime, SizingError> {
    match name.to_ascii_lowercase().as_str() {
        "locallm" => Ok(Runtime::Locallm),
        "llama.cpp" | "llamacpp" | "llama-cpp" | "ollama" => Ok(Runtime::LlamaCpp),
        _ => Err(SizingError::UnknownRuntime(name.to_string())),
    }
}

/// Will it fit: how much memory is left over, or missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Fits { spare: u64 },
    TooBig { short: u64 },
}

/// The memory a model needs at one context length in one runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub shape: ModelShape,
    pub weights: Weights,
    pub runtime: Runtime,
    pub ctx: u64,
    pub kv_per_token: u64,
    pub kv_cache: u64,
    pub scratch: u64,
    pub program: u64,
}

impl Estimate {
    pub fn new(
        shape: ModelShape,
        weights: Weights,
        runtime: Runtime,
        ctx: u64,
        k: GgmlType,
        v: GgmlType,
    ) -> Result<Estimate, SizingError> {
        let shape = shape.checked()?;
        let kv_cache = kv_cache_bytes(&shape, ctx, k, v)?;
        // the scratch is quadratic in the context: check before multiplying
        let batch = UBATCH.min(ctx);
        [shape.n_heads, ctx, 8]
            .into_iter()
            .try_fold(batch, u64::checked_mul)
            .ok_or(SizingError::Overflow("scratch bytes"))?;
        let estimate = Estimate {
            shape,
            weights,
            runtime,
            ctx,
            kv_per_token: kv_bytes_per_token(&shape, k, v)?,
            kv_cache,
            scratch: runtime.scratch_bytes(&shape, ctx),
            program: runtime.program_bytes(),
        };
        [estimate.kv_cache, estimate.scratch, estimate.program]
            .into_iter()
            .try_fold(estimate.weights.bytes, u64::checked_add)
            .ok_or(SizingError::Overflow("total bytes"))?;
        Ok(estimate)
    }

    pub fn total(&self) -> u64 {
        self.weights.bytes + self.kv_cache + self.scratch + self.program
    }

    pub fn verdict(&self, memory: u64) -> Verdict {
        match memory.checked_sub(self.total()) {
            Some(spare) => Verdict::Fits { spare },
            None => Verdict::TooBig {
                short: self.total() - memory,
            },
        }
    }

    /// The longest context whose total fits in `memory` (capped at the
    /// trained context when known), or `None` when not even one position
    /// does. The total grows with the context, so a bisection finds it.
    pub fn max_context(&self, memory: u64) -> Option<u64> {
        let fits = |ctx: u64| {
            let at = Estimate {
                ctx,
                kv_cache: self.kv_per_token.saturating_mul(ctx),
                scratch: self.runtime.scratch_bytes(&self.shape, ctx),
                ..self.clone()
            };
            at.kv_cache < u64::MAX / 4 && at.scratch < u64::MAX / 4 && at.total() <= memory
        };
        let cap = self.shape.n_ctx_train.unwrap_or(1 << 24);
        if !fits(1) {
            return None;
        }
        let (mut lo, mut hi) = (1, cap); // fits(lo) holds
        if fits(hi) {
            return Some(hi);
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fits(mid) { lo = mid } else { hi = mid }
        }
        Some(lo)
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
        let err = Estimate::new(
            no_layers,
            w,
            Runtime::Locallm,
            10,
            GgmlType::F32,
            GgmlType::F32,
        );
        assert_eq!(err, Err(SizingError::Zero("layer count")));
        assert!(parse_cache_type("q9_9").is_err());
        assert_eq!(parse_runtime("Llama.cpp"), Ok(Runtime::LlamaCpp));
        assert!(parse_runtime("vllm").is_err());
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
        for runtime in [Runtime::Locallm, Runtime::LlamaCpp] {
            let at = |ctx| {
                Estimate::new(s, w.clone(), runtime, ctx, GgmlType::F32, GgmlType::F32).unwrap()
            };
            let e = at(4096);
            assert_eq!(e.kv_cache, 4096 * 46_080);
            let total = w.bytes + e.kv_cache + e.scratch + runtime.program_bytes();
            assert_eq!(e.total(), total);
            assert_eq!(e.verdict(e.total()), Verdict::Fits { spare: 0 });
            assert_eq!(e.verdict(e.total() - 1), Verdict::TooBig { short: 1 });
            // the longest context that fits a memory is one whose estimate fits it
            for memory in [200 << 20, 300 << 20, 400 << 20] {
                let ctx = e.max_context(memory).unwrap();
                assert!(at(ctx).total() <= memory, "{runtime:?} {memory}");
                assert!(at(ctx + 1).total() > memory, "{runtime:?} {memory}");
            }
            assert_eq!(e.max_context(w.bytes), None);
            assert_eq!(e.max_context(u64::MAX / 2), Some(8192)); // the trained context
        }
    }

    #[test]
    fn scratch_follows_each_runtime() {
        let s = smollm2();
        // ours: the gate and up of a batch (about 3 × d_model wide each),
        // one row of logits, whatever the context
        for ctx in [4096, 65_536] {
            let ours = Runtime::Locallm.scratch_bytes(&s, ctx);
            assert_eq!(ours, 4 * 512 * 6 * 576 + 4 * 49_152);
        }
        // llama.cpp logs "CPU compute buffer size = 98.25 MiB" for a 512-token
        // batch at context 512 and 99.38 MiB at 2048 (no flash attention):
        // the logits of the batch dominate until the scores outgrow them
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        for (ctx, logged) in [(512, 98.25), (2048, 99.38)] {
            let ours = mib(Runtime::LlamaCpp.scratch_bytes(&s, ctx));
            assert!(
                (ours - logged).abs() / logged < 0.05,
                "{ctx}: {ours} vs {logged}"
            );
        }
        assert_eq!(
            Runtime::LlamaCpp.scratch_bytes(&s, 8192),
            4 * 512 * 9 * 8192 // 9 × 8,192 > 49,152
        );
        // a short context is one short batch
        assert_eq!(Runtime::LlamaCpp.scratch_bytes(&s, 10), 4 * 10 * 49_152);
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
        let e = Estimate::new(
            big,
            w,
            Runtime::LlamaCpp,
            8192,
            GgmlType::F16,
            GgmlType::F16,
        );
        let e = e.unwrap();
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
