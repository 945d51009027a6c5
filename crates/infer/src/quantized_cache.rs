//! A KV cache stored in fewer bits: f16, or ggml's Q8_0 and Q4_0 blocks.
//!
//! For a small model the cache, not the weights, is what fills memory at long
//! contexts (SmolLM2-135M: 45 KiB per token in f32, 360 MiB at 8,192
//! positions). Keys and values can be stored like weights are: each cached
//! row of `head_dim` = 64 numbers (one position of one KV head) becomes two
//! blocks of 32, each with one f16 scale and 8-bit (Q8_0) or 4-bit (Q4_0)
//! integers — the formats of `locallm-quant`, reused as they are.
//!
//! Attention still works in f32: when a layer asks for its keys and values,
//! the cache decodes the positions held so far.
//!
//! Keys have *outlier channels*: a few of the 64 numbers of a row are many
//! times larger than the rest, so a block's scale is set by them and the
//! small numbers round to almost nothing (Q4_0 has only 16 levels). As
//! llama.cpp does, each row is first multiplied by a Walsh–Hadamard matrix,
//! a rotation that spreads every channel over all 64, and multiplied again
//! when read back (the matrix is its own inverse). The loss is the rounding
//! error of storing, not of computing; `locallm perplexity
//! --kl-divergence-base` measures what it costs. This is llama.cpp's
//! `--cache-type-k` / `--cache-type-v`.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, Tensor, TensorData};
use locallm_model::{KvCache, LlamaConfig};
use locallm_quant::GgmlType;
use locallm_quant::blocks::{dequantize_into, quantize_into};

use crate::kv_cache::{PreallocatedCache, SessionCache};

// ANCHOR: cache_type
/// How cached keys (or values) are stored, named as llama.cpp's
/// `--cache-type-k/--cache-type-v` name them.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheType {
    /// 4 bytes per number: what attention computes with, nothing lost.
    #[default]
    F32,
    /// 2 bytes per number.
    F16,
    /// Blocks of 32: one f16 scale + 32 × 8-bit integers = 34 bytes (8.5 bits per number).
    Q8_0,
    /// Blocks of 32: one f16 scale + 32 × 4-bit integers = 18 bytes (4.5 bits per number).
    Q4_0,
}

impl CacheType {
    pub const ALL: [CacheType; 4] = [
        CacheType::F32,
        CacheType::F16,
        CacheType::Q8_0,
        CacheType::Q4_0,
    ];

    /// The element type in `locallm-quant` that does the packing.
    pub fn ggml_type(self) -> GgmlType {
        match self {
            CacheType::F32 => GgmlType::F32,
            CacheType::F16 => GgmlType::F16,
            CacheType::Q8_0 => GgmlType::Q8_0,
            CacheType::Q4_0 => GgmlType::Q4_0,
        }
    }

    /// Bytes taken by one cached row of `head_dim` numbers, which must fill
    /// whole blocks.
    pub fn row_bytes(self, head_dim: usize) -> Result<usize, CacheError> {
        self.ggml_type()
            .n_bytes(head_dim)
            .map_err(|_| CacheError::PartialBlock {
                ty: self,
                head_dim,
                block: self.ggml_type().block_size(),
            })
    }
}
// ANCHOR_END: cache_type

impl fmt::Display for CacheType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ggml_type().name())
    }
}

impl FromStr for CacheType {
    type Err = CacheError;

    /// `"f32"`, `"f16"`, `"q8_0"` or `"q4_0"` (any case).
    fn from_str(s: &str) -> Result<Self, CacheError> {
        CacheType::ALL
            .into_iter()
            .find(|t| t.ggml_type().name().eq_ignore_ascii_case(s))
            .ok_or_else(|| CacheError::UnknownType(s.to_string()))
    }
}

/// Why a cache could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    #[error("unknown KV cache type {0:?}: expected one of f32, f16, q8_0, q4_0")]
    UnknownType(String),
    #[error(
        "a {ty} KV cache stores rows in blocks of {block}, but this model's head_dim is {head_dim}"
    )]
    PartialBlock {
        ty: CacheType,
        head_dim: usize,
        block: usize,
    },
    #[error("a KV cache of {max_seq} positions does not fit in memory")]
    TooLarge { max_seq: usize },
}

/// The storage types of keys and values (they may differ: values are often
/// less sensitive than keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTypes {
    pub k: CacheType,
    pub v: CacheType,
    /// Rotate Q8_0/Q4_0 rows by a Hadamard matrix before packing them (on by
    /// default, as in llama.cpp; its `LLAMA_ATTN_ROT_DISABLE=1` turns it off).
    pub rotate: bool,
}

impl Default for CacheTypes {
    /// f32 keys and values.
    fn default() -> Self {
        CacheTypes::both(CacheType::F32)
    }
}

impl CacheTypes {
    /// The same type for keys and values, rotated when quantized.
    pub fn both(ty: CacheType) -> Self {
        CacheTypes {
            k: ty,
            v: ty,
            rotate: true,
        }
    }

    /// Nothing is rounded: keys and values are kept as f32.
    pub fn is_f32(self) -> bool {
        self.k == CacheType::F32 && self.v == CacheType::F32
    }

    // ANCHOR: bytes_per_token
    /// Bytes one position takes in one layer, `(keys, values)`: one row of
    /// `head_dim` numbers per KV head.
    pub fn bytes_per_token_per_layer(
        self,
        config: &LlamaConfig,
    ) -> Result<(usize, usize), CacheError> {
        let row = |ty: CacheType| ty.row_bytes(config.head_dim);
        Ok((
            config.n_kv_heads * row(self.k)?,
            config.n_kv_heads * row(self.v)?,
        ))
    }

    /// Bytes one position takes in the whole model: keys and values, every
    /// layer. SmolLM2-135M in f32: 30 × (3 × 64 × 4 + 3 × 64 × 4) = 46,080.
    pub fn bytes_per_token(self, config: &LlamaConfig) -> Result<usize, CacheError> {
        let (k, v) = self.bytes_per_token_per_layer(config)?;
        Ok(config.n_layers * (k + v))
    }
    // ANCHOR_END: bytes_per_token

    /// A cache of `max_seq` positions in these types: the f32 tensors of
    /// [`PreallocatedCache`] when nothing is quantized, else a
    /// [`QuantizedCache`].
    pub fn new_cache(
        self,
        config: &LlamaConfig,
        batch: usize,
        max_seq: usize,
        device: &Device,
    ) -> Result<Box<dyn SessionCache>, CacheError> {
        if self.is_f32() {
            Ok(Box::new(PreallocatedCache::new(
                config, batch, max_seq, device,
            )))
        } else {
            Ok(Box::new(QuantizedCache::new(config, batch, max_seq, self)?))
        }
    }
}

/// Makes a fresh, empty cache each time it is called: what
/// [`PerplexityOptions::new_cache`](crate::PerplexityOptions) wants.
pub type CacheFactory = Box<dyn Fn() -> Box<dyn KvCache>>;

impl CacheTypes {
    /// A [`CacheFactory`] for caches of `max_seq` positions in these types.
    /// Any error (a head_dim that does not fill blocks) is reported here,
    /// so the factory itself cannot fail.
    pub fn factory(
        self,
        config: &LlamaConfig,
        max_seq: usize,
        device: &Device,
    ) -> Result<CacheFactory, CacheError> {
        self.new_cache(config, 1, max_seq, device)?;
        let (config, device) = (config.clone(), device.clone());
        Ok(Box::new(move || -> Box<dyn KvCache> {
            self.new_cache(&config, 1, max_seq, &device)
                .expect("checked when the factory was built")
        }))
    }
}

impl fmt::Display for CacheTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "K {} / V {}", self.k, self.v)?;
        if !self.is_f32() && !self.rotate {
            f.write_str(" (not rotated)")?;
        }
        Ok(())
    }
}

// ANCHOR: quantized_rows
/// The cached keys (or values) of one layer as bytes: rows of `head_dim`
/// numbers, one per (batch, KV head, position), each packed as `ty`.
/// Row `(bh, pos)` starts at byte `(bh · max_seq + pos) · row_bytes`, so the
/// positions of one head are contiguous and can be packed or decoded at once.
struct QuantizedRows {
    ty: CacheType,
    /// Rows are rotated by [`hadamard`] before packing, and after decoding.
    rotate: bool,
    bytes: Vec<u8>,
    row_bytes: usize,
    heads: usize, // batch × kv_heads
    max_seq: usize,
    head_dim: usize,
}

impl QuantizedRows {
    /// Packs `x` (`[batch, kv_heads, seq, head_dim]`) into positions `start..start+seq`.
    fn write(&mut self, start: usize, x: Tensor<4>) {
        let [_, _, seq, _] = x.dims();
        let mut values = x
            .try_into_vec_as::<f32>()
            .expect("keys and values are floats");
        if self.rotate {
            values.chunks_exact_mut(ROTATION).for_each(hadamard);
        }
        let run = seq * self.head_dim; // numbers of one head at the new positions
        for (bh, head) in values.chunks_exact(run).enumerate() {
            let at = (bh * self.max_seq + start) * self.row_bytes;
            let out = &mut self.bytes[at..at + seq * self.row_bytes];
            quantize_into(self.ty.ggml_type(), head, out).expect("rows fill whole blocks");
        }
    }

    /// Decodes positions `0..len`: `[batch, kv_heads, len, head_dim]` in f32.
    fn read(&self, len: usize, shape: [usize; 2], device: &Device) -> Tensor<4> {
        let mut values = vec![0.0f32; self.heads * len * self.head_dim];
        for (bh, head) in values.chunks_exact_mut(len * self.head_dim).enumerate() {
            let at = bh * self.max_seq * self.row_bytes;
            let bytes = &self.bytes[at..at + len * self.row_bytes];
            dequantize_into(self.ty.ggml_type(), bytes, head).expect("rows fill whole blocks");
        }
        if self.rotate {
            values.chunks_exact_mut(ROTATION).for_each(hadamard);
        }
        let [batch, kv_heads] = shape;
        let data = TensorData::new(values, [batch, kv_heads, len, self.head_dim]);
        Tensor::from_data(data, device)
    }
}
// ANCHOR_END: quantized_rows

/// Numbers rotated together: llama.cpp's V rotation size (and its K size
/// whenever `head_dim` is not a multiple of 128).
const ROTATION: usize = 64;

// ANCHOR: hadamard
/// `x ← x·H`, `H` the orthonormal Walsh–Hadamard matrix of size `x.len()` (a
/// power of two): `H[i][j] = ±1/√n`, the sign `(−1)^popcount(i & j)`. `H` is
/// symmetric and orthogonal, so `H·H = I`: the same call undoes it, and
/// rotating both queries and keys would leave every dot product unchanged.
/// Each output mixes all inputs with equal weight, so one large channel
/// becomes a small part of every channel. The fast transform: log₂ n rounds
/// of sums and differences of pairs, `n·log₂ n` additions instead of `n²`.
fn hadamard(x: &mut [f32]) {
    let n = x.len();
    let mut half = 1;
    while half < n {
        for pair in x.chunks_exact_mut(2 * half) {
            let (a, b) = pair.split_at_mut(half);
            for (a, b) in a.iter_mut().zip(b) {
                (*a, *b) = (*a + *b, *a - *b);
            }
        }
        half *= 2;
    }
    let scale = 1.0 / (n as f32).sqrt();
    x.iter_mut().for_each(|v| *v *= scale);
}
// ANCHOR_END: hadamard

/// A pre-allocated KV cache whose keys and values are stored as bytes of
/// their [`CacheType`]s; what attention reads is decoded back to f32.
pub struct QuantizedCache {
    k: Vec<QuantizedRows>,
    v: Vec<QuantizedRows>,
    types: CacheTypes,
    shape: [usize; 2], // [batch, kv_heads]
    max_seq: usize,
    len: usize,
}

impl QuantizedCache {
    pub fn new(
        config: &LlamaConfig,
        batch: usize,
        max_seq: usize,
        types: CacheTypes,
    ) -> Result<Self, CacheError> {
        let heads = batch * config.n_kv_heads;
        let layer = |ty: CacheType| -> Result<Vec<QuantizedRows>, CacheError> {
            let row_bytes = ty.row_bytes(config.head_dim)?;
            // as llama.cpp: block formats only, rows of whole 64-number groups
            let rotate = types.rotate
                && matches!(ty, CacheType::Q8_0 | CacheType::Q4_0)
                && config.head_dim.is_multiple_of(ROTATION);
            // sized by the caller's context: checked, not trusted
            let size = heads
                .checked_mul(max_seq)
                .and_then(|rows| rows.checked_mul(row_bytes))
                .filter(|&size| size <= isize::MAX as usize)
                .ok_or(CacheError::TooLarge { max_seq })?;
            Ok((0..config.n_layers)
                .map(|_| QuantizedRows {
                    ty,
                    rotate,
                    bytes: vec![0; size],
                    row_bytes,
                    heads,
                    max_seq,
                    head_dim: config.head_dim,
                })
                .collect())
        };
        Ok(QuantizedCache {
            k: layer(types.k)?,
            v: layer(types.v)?,
            types,
            shape: [batch, config.n_kv_heads],
            max_seq,
            len: 0,
        })
    }

    /// The storage types of keys and values.
    pub fn types(&self) -> CacheTypes {
        self.types
    }
}

// ANCHOR: quantized_update
impl KvCache for QuantizedCache {
    fn update(
        &mut self,
        layer: usize,
        start: usize,
        k: Tensor<4>,
        v: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        let [_, _, s, _] = k.dims();
        let end = start + s;
        assert!(
            end <= self.max_seq,
            "KV cache full: {end} > {} positions",
            self.max_seq
        );
        let device = k.device();
        // pack the new positions into blocks: this is where precision is lost...
        self.k[layer].write(start, k);
        self.v[layer].write(start, v);
        if layer == 0 {
            self.len = end;
        }
        // ...and decode every position so far for attention, which works in f32
        (
            self.k[layer].read(end, self.shape, &device),
            self.v[layer].read(end, self.shape, &device),
        )
    }
}
// ANCHOR_END: quantized_update

impl SessionCache for QuantizedCache {
    fn len(&self) -> usize {
        self.len
    }
    fn capacity(&self) -> usize {
        self.max_seq
    }
    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
    fn bytes(&self) -> usize {
        self.k.iter().chain(&self.v).map(|r| r.bytes.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use locallm_model::NoCache;
    use locallm_quant::blocks::{dequantize, quantize};

    /// SmolLM2-135M's cache dimensions (30 layers, 3 KV heads of 64), no weights.
    fn smollm2_like() -> LlamaConfig {
        LlamaConfig {
            n_layers: 30,
            n_kv_heads: 3,
            head_dim: 64,
            ..LlamaConfig::tiny()
        }
    }

    /// Deterministic keys with varied magnitudes: `[1, heads, seq, head_dim]`.
    fn sample_kv(heads: usize, seq: usize, head_dim: usize, salt: u32) -> Vec<f32> {
        let mut state = 0x9e37_79b9u32 ^ salt;
        (0..heads * seq * head_dim)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let u = state as f32 / u32::MAX as f32 - 0.5;
                // an outlier channel, as real keys have
                u * if i % head_dim == 3 { 40.0 } else { 3.0 }
            })
            .collect()
    }

    fn unrotated(ty: CacheType) -> CacheTypes {
        CacheTypes {
            rotate: false,
            ..CacheTypes::both(ty)
        }
    }

    fn tensor(values: &[f32], shape: [usize; 4], device: &Device) -> Tensor<4> {
        Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
    }

    #[test]
    fn parses_llama_cpp_names_and_rejects_others() {
        for ty in CacheType::ALL {
            assert_eq!(ty.to_string().parse::<CacheType>(), Ok(ty));
        }
        assert_eq!("Q8_0".parse::<CacheType>(), Ok(CacheType::Q8_0));
        let err = "q4_k".parse::<CacheType>().unwrap_err();
        assert_eq!(err, CacheError::UnknownType("q4_k".into()));
        assert!(err.to_string().contains("f32, f16, q8_0, q4_0"), "{err}");
    }

    #[test]
    fn bytes_per_token_follow_the_block_sizes() {
        let config = smollm2_like();
        // per layer and KV head: 64 numbers as f32, f16, 2 Q8_0 blocks, 2 Q4_0 blocks
        let per_row = [(CacheType::F32, 64 * 4), (CacheType::F16, 64 * 2)];
        let per_row = per_row.into_iter().chain([
            (CacheType::Q8_0, 2 * GgmlType::Q8_0.type_size()),
            (CacheType::Q4_0, 2 * GgmlType::Q4_0.type_size()),
        ]);
        for (ty, row) in per_row {
            let types = CacheTypes::both(ty);
            assert_eq!(
                types.bytes_per_token_per_layer(&config),
                Ok((3 * row, 3 * row))
            );
            assert_eq!(types.bytes_per_token(&config), Ok(30 * 2 * 3 * row));
            let device = locallm_model::default_device().unwrap();
            let cache = types.new_cache(&config, 1, 100, &device).unwrap();
            assert_eq!(cache.bytes(), 100 * 30 * 2 * 3 * row, "{ty}");
        }
    }

    #[test]
    fn head_dim_must_fill_whole_blocks() {
        let config = LlamaConfig::tiny(); // head_dim 8
        let types = CacheTypes {
            k: CacheType::F16,
            v: CacheType::Q4_0,
            rotate: true,
        };
        let err = QuantizedCache::new(&config, 1, 16, types).err();
        assert_eq!(
            err,
            Some(CacheError::PartialBlock {
                ty: CacheType::Q4_0,
                head_dim: 8,
                block: 32
            })
        );
        // f16 has no blocks: any head_dim works
        assert!(QuantizedCache::new(&config, 1, 16, CacheTypes::both(CacheType::F16)).is_ok());
        let huge = QuantizedCache::new(&smollm2_like(), 1, usize::MAX / 2, types);
        assert!(matches!(huge, Err(CacheError::TooLarge { .. })));
    }

    /// Without rotation, what the cache hands back is exactly
    /// `dequantize(quantize(x))` of `locallm-quant`, row by row, for positions
    /// written in several steps.
    #[test]
    fn returns_exactly_the_round_trip_of_the_blocks() {
        let config = smollm2_like();
        let device = locallm_model::default_device().unwrap();
        let (heads, hd, seq) = (3, 64, 7);
        for ty in CacheType::ALL {
            let types = unrotated(ty);
            let mut cache = QuantizedCache::new(&config, 1, 16, types).unwrap();
            let k = sample_kv(heads, seq, hd, 1);
            let v = sample_kv(heads, seq, hd, 2);
            // a prefill of 4 positions, then one at a time
            let (mut got_k, mut got_v) = (None, None);
            for (start, end) in [(0, 4), (4, 5), (5, 6), (6, 7)] {
                let part = |x: &[f32]| {
                    let rows: Vec<f32> = (0..heads)
                        .flat_map(|h| x[(h * seq + start) * hd..(h * seq + end) * hd].to_vec())
                        .collect();
                    tensor(&rows, [1, heads, end - start, hd], &device)
                };
                let (ck, cv) = cache.update(5, start, part(&k), part(&v));
                assert_eq!(ck.dims(), [1, heads, end, hd]);
                (got_k, got_v) = (Some(ck), Some(cv));
            }
            assert_eq!(cache.len(), 0, "only layer 0 moves the length");
            for (x, got) in [(k, got_k.unwrap()), (v, got_v.unwrap())] {
                let got = got.try_into_vec_as::<f32>().unwrap();
                let bytes = quantize(ty.ggml_type(), &x).unwrap();
                let expected = dequantize(ty.ggml_type(), &bytes, x.len()).unwrap();
                assert_eq!(got, expected, "{ty}");
            }
        }
    }

    /// The round trip stays within each format's rounding error: half a step
    /// of the block's scale (one step for Q4_0, whose most negative level
    /// −8 has no positive twin), relative 2⁻¹¹ for f16.
    #[test]
    fn round_trip_error_is_within_the_formats_tolerance() {
        let config = smollm2_like();
        let device = locallm_model::default_device().unwrap();
        let (heads, hd, seq) = (3, 64, 5);
        let x = sample_kv(heads, seq, hd, 3);
        for ty in CacheType::ALL {
            let mut cache = QuantizedCache::new(&config, 1, 8, unrotated(ty)).unwrap();
            let shape = [1, heads, seq, hd];
            let (got, _) =
                cache.update(0, 0, tensor(&x, shape, &device), tensor(&x, shape, &device));
            let got = got.try_into_vec_as::<f32>().unwrap();
            let mut worst = 0.0f32;
            for (block, out) in x.chunks(32).zip(got.chunks(32)) {
                let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                for (a, b) in block.iter().zip(out) {
                    let tol = match ty {
                        CacheType::F32 => 0.0,
                        CacheType::F16 => a.abs() * 2f32.powi(-11),
                        // scale amax/127, itself rounded to f16
                        CacheType::Q8_0 => 0.5 * amax / 127.0 * (1.0 + 127.0 * 2f32.powi(-10)),
                        CacheType::Q4_0 => amax / 8.0 * (1.0 + 8.0 * 2f32.powi(-10)),
                    };
                    assert!((a - b).abs() <= tol, "{ty}: {a} -> {b}, tolerance {tol}");
                    worst = worst.max((a - b).abs() / amax);
                }
            }
            if ty != CacheType::F32 {
                assert!(
                    worst > 0.0,
                    "{ty} lost nothing: is it really stored in fewer bits?"
                );
            }
        }
    }

    /// The fast transform is the matrix of the definition, and its own inverse.
    #[test]
    fn hadamard_is_the_walsh_matrix_and_undoes_itself() {
        let n = 64;
        let x = sample_kv(1, 1, n, 7);
        let mut fast = x.clone();
        hadamard(&mut fast);
        for (j, &got) in fast.iter().enumerate() {
            let by_definition: f32 = (0..n)
                .map(|i| {
                    let sign = if (i & j).count_ones() % 2 == 0 {
                        1.0
                    } else {
                        -1.0
                    };
                    x[i] * sign / 8.0
                })
                .sum();
            assert!(
                (got - by_definition).abs() < 1e-4,
                "{j}: {got} vs {by_definition}"
            );
        }
        hadamard(&mut fast);
        for (a, b) in x.iter().zip(&fast) {
            assert!((a - b).abs() < 1e-5, "{a} came back as {b}");
        }
    }

    /// Rotated rows are packed as `H·x` and read back as `H·dequantize(..)`;
    /// with an outlier channel that loses less than packing `x` itself.
    #[test]
    fn rotation_shrinks_the_error_of_rows_with_outliers() {
        let config = smollm2_like();
        let device = locallm_model::default_device().unwrap();
        let (heads, hd, seq) = (3, 64, 8);
        let x = sample_kv(heads, seq, hd, 8); // channel 3 is ~13x the others
        let shape = [1, heads, seq, hd];
        for ty in [CacheType::Q8_0, CacheType::Q4_0] {
            let rms = |types: CacheTypes| {
                let mut cache = QuantizedCache::new(&config, 1, 8, types).unwrap();
                let input = tensor(&x, shape, &device);
                let (got, _) = cache.update(0, 0, input.clone(), input);
                let got = got.try_into_vec_as::<f32>().unwrap();
                let sq: f32 = x.iter().zip(&got).map(|(a, b)| (a - b) * (a - b)).sum();
                (got, (sq / x.len() as f32).sqrt())
            };
            let (rotated, rotated_rms) = rms(CacheTypes::both(ty));
            let (_, plain_rms) = rms(unrotated(ty));
            // exactly H · dequantize(quantize(H · x)), row by row
            let mut expected = x.clone();
            expected.chunks_exact_mut(64).for_each(hadamard);
            let bytes = quantize(ty.ggml_type(), &expected).unwrap();
            let mut expected = dequantize(ty.ggml_type(), &bytes, x.len()).unwrap();
            expected.chunks_exact_mut(64).for_each(hadamard);
            assert_eq!(rotated, expected, "{ty}");
            assert!(
                rotated_rms < 0.8 * plain_rms,
                "{ty}: rotated RMS error {rotated_rms} vs {plain_rms} unrotated"
            );
        }
    }

    #[test]
    fn f32_quantized_cache_equals_the_tensor_cache_and_no_cache() {
        let device = locallm_model::default_device().unwrap();
        let (heads, hd) = (3, 64);
        let config = smollm2_like();
        let mut bytes =
            QuantizedCache::new(&config, 1, 8, CacheTypes::both(CacheType::F32)).unwrap();
        let mut tensors = PreallocatedCache::new(&config, 1, 8, &device);
        let x = sample_kv(heads, 6, hd, 4);
        let x = tensor(&x, [1, heads, 6, hd], &device);
        let (a, _) = bytes.update(2, 0, x.clone(), x.clone());
        let (b, _) = tensors.update(2, 0, x.clone(), x.clone());
        let (c, _) = NoCache.update(2, 0, x.clone(), x);
        let a = a.try_into_vec_as::<f32>().unwrap();
        assert_eq!(a, b.try_into_vec_as::<f32>().unwrap());
        assert_eq!(a, c.try_into_vec_as::<f32>().unwrap());
    }

    #[test]
    fn truncate_rewinds_and_later_writes_overwrite() {
        let device = locallm_model::default_device().unwrap();
        let config = LlamaConfig {
            n_layers: 1,
            ..smollm2_like()
        };
        let mut cache = QuantizedCache::new(&config, 1, 8, unrotated(CacheType::Q8_0)).unwrap();
        let first = tensor(&sample_kv(3, 4, 64, 5), [1, 3, 4, 64], &device);
        cache.update(0, 0, first.clone(), first);
        assert_eq!(cache.len(), 4);
        cache.truncate(2);
        assert_eq!(cache.len(), 2);
        let fresh = sample_kv(3, 4, 64, 6);
        let (k, _) = cache.update(
            0,
            0,
            tensor(&fresh, [1, 3, 4, 64], &device),
            tensor(&fresh, [1, 3, 4, 64], &device),
        );
        let expected = dequantize(
            GgmlType::Q8_0,
            &quantize(GgmlType::Q8_0, &fresh).unwrap(),
            fresh.len(),
        )
        .unwrap();
        assert_eq!(k.try_into_vec_as::<f32>().unwrap(), expected);
    }
}
