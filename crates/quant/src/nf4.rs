//! NF4, the 4-bit NormalFloat of QLoRA (Dettmers et al. 2023,
//! arXiv:2305.14314) as bitsandbytes implements it: a different answer to
//! the question ggml's block formats answer.
//!
//! ggml's Q4 types spread their 16 codes *evenly* between a block's minimum
//! and maximum. Trained weights are roughly normally distributed, so most of
//! them sit near zero where even spacing wastes resolution. NF4 instead puts
//! its 16 levels at quantiles of a normal distribution (scaled to [-1, 1]),
//! so that each level is used about equally often. A block of 64 weights
//! stores only its absolute maximum (`absmax`); a weight is `level[q]·absmax`.
//!
//! One f32 absmax per 64 weights costs 0.5 bits per weight. *Double
//! quantization* quantizes those constants too: subtract their mean, then
//! store them as 8-bit codes in blocks of 256, each block with one f32
//! scale: 8/64 + 32/(64·256) ≈ 0.127 bits per weight, 4.127 in all.
//!
//! Byte layout follows bitsandbytes' `quantize_4bit`: two codes per byte,
//! the *first* weight in the *high* nibble (ggml puts it in the low one).
//! The second-level code differs: bitsandbytes stores the centred absmax
//! values with its 8-bit "dynamic" (float-like) code map, we use a plain
//! symmetric int8 (`round(127·c/s)`), which is simpler to read and, on these
//! always-small centred values, about as accurate.

/// Weights per block sharing one absmax (bitsandbytes' default `blocksize=64`).
pub const BLOCK_SIZE: usize = 64;

/// Absmax constants per block of the second quantization (QLoRA: 256).
pub const DQ_BLOCK_SIZE: usize = 256;

// ANCHOR: nf4_levels
/// The 16 NF4 levels, exactly as bitsandbytes hard-codes them
/// (`get_4bit_type("nf4")` in `bitsandbytes/functional.py`, also
/// `_NF4_QUANT_TABLE` in `bitsandbytes/backends/utils.py`, v0.50.2; generated
/// there by `create_normal_map(offset=0.9677083, use_extra_value=True)`).
/// Eight levels above zero, seven below, and zero itself: an exact 0 matters
/// for padding and for weights that are truly zero.
pub const NF4_LEVELS: [f32; 16] = [
    -1.0,
    -0.696_192_8,
    -0.525_073_05,
    -0.394_917_5,
    -0.284_441_38,
    -0.184_773_43,
    -0.091_050_036,
    0.0,
    0.079_580_3,
    0.160_930_2,
    0.246_112_3,
    0.337_915_24,
    0.440_709_83,
    0.562_617,
    0.722_956_84,
    1.0,
];
// ANCHOR_END: nf4_levels

/// The absmax constant of each 64-weight block, stored one of two ways.
#[derive(Debug, Clone, PartialEq)]
pub enum Absmax {
    /// One f32 per block (bitsandbytes' `compress_statistics=False`).
    F32(Vec<f32>),
    /// Double quantization: `absmax[b] ≈ codes[b] · scales[b / 256] / 127 + offset`.
    Double {
        /// The mean of all absmax values, subtracted before quantizing.
        offset: f32,
        /// One int8 code per 64-weight block.
        codes: Vec<i8>,
        /// The largest |absmax - offset| of each group of 256 blocks.
        scales: Vec<f32>,
    },
}

/// A tensor of `len` weights in NF4.
#[derive(Debug, Clone, PartialEq)]
pub struct Nf4Tensor {
    len: usize,
    /// Two 4-bit level indices per byte, the first weight in the high nibble.
    pub codes: Vec<u8>,
    pub absmax: Absmax,
}

/// The level index nearest to `v` (already scaled into [-1, 1]).
///
/// As bitsandbytes does it: compare with the midpoints between neighbouring
/// levels (`torch.bucketize`, so a value exactly on a midpoint takes the
/// lower level).
pub fn nearest_level(v: f32) -> u8 {
    let above = (0..15).filter(|&i| (NF4_LEVELS[i] + NF4_LEVELS[i + 1]) / 2.0 < v);
    above.count() as u8
}

/// Quantize to NF4 with double quantization (QLoRA's default).
pub fn quantize_nf4(values: &[f32]) -> Nf4Tensor {
    quantize_nf4_with(values, true)
}

// ANCHOR: nf4_quantize
/// Quantize to NF4, with or without double quantization of the absmax
/// constants. Any length works: the last block may be shorter than 64.
pub fn quantize_nf4_with(values: &[f32], double_quant: bool) -> Nf4Tensor {
    let mut levels = Vec::with_capacity(values.len() + 1);
    let mut absmax = Vec::with_capacity(values.len().div_ceil(BLOCK_SIZE));
    for block in values.chunks(BLOCK_SIZE) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        absmax.push(amax);
        let amax = amax.max(1e-38); // an all-zero block must not divide by 0
        // bitsandbytes multiplies full blocks by the reciprocal and divides
        // the short last block; both are kept so the codes match it exactly.
        let scale = |v: f32| match block.len() {
            BLOCK_SIZE => v * (1.0 / amax),
            _ => v / amax,
        };
        levels.extend(
            block
                .iter()
                .map(|&v| nearest_level(scale(v).clamp(-1.0, 1.0))),
        );
    }
    if levels.len() % 2 == 1 {
        levels.push(nearest_level(0.0)); // pad the last byte with a zero
    }
    let codes = levels.chunks_exact(2).map(|p| (p[0] << 4) | p[1]).collect();
    let absmax = if double_quant {
        double_quantize(&absmax)
    } else {
        Absmax::F32(absmax)
    };
    Nf4Tensor {
        len: values.len(),
        codes,
        absmax,
    }
}
// ANCHOR_END: nf4_quantize

// ANCHOR: nf4_double_quant
/// The second quantization: centre the absmax values on their mean, then
/// int8 with one f32 scale per 256 of them.
fn double_quantize(absmax: &[f32]) -> Absmax {
    let mean = absmax.iter().map(|&a| a as f64).sum::<f64>() / absmax.len().max(1) as f64;
    let offset = mean as f32;
    let mut codes = Vec::with_capacity(absmax.len());
    let mut scales = Vec::with_capacity(absmax.len().div_ceil(DQ_BLOCK_SIZE));
    for group in absmax.chunks(DQ_BLOCK_SIZE) {
        let s = group.iter().fold(0.0f32, |m, a| m.max((a - offset).abs()));
        scales.push(s);
        let inv = if s > 0.0 { 127.0 / s } else { 0.0 };
        codes.extend(group.iter().map(|a| ((a - offset) * inv).round() as i8));
    }
    Absmax::Double {
        offset,
        codes,
        scales,
    }
}
// ANCHOR_END: nf4_double_quant

/// Bits per weight of NF4 storage for a tensor made of whole second-level
/// groups, as the QLoRA paper counts it: 4 for the code, plus the absmax
/// constants. (A double-quantized tensor also keeps one f32 mean, which
/// this per-weight formula leaves out.)
pub fn bits_per_weight_formula(double_quant: bool) -> f64 {
    let b = BLOCK_SIZE as f64;
    if double_quant {
        4.0 + 8.0 / b + 32.0 / (b * DQ_BLOCK_SIZE as f64)
    } else {
        4.0 + 32.0 / b
    }
}

impl Nf4Tensor {
    /// Number of weights.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The absmax of every 64-weight block, decoded from the double
    /// quantization if there is one.
    pub fn block_absmax(&self) -> Vec<f32> {
        match &self.absmax {
            Absmax::F32(a) => a.clone(),
            Absmax::Double {
                offset,
                codes,
                scales,
            } => codes
                .iter()
                .enumerate()
                .map(|(b, &q)| q as f32 * (scales[b / DQ_BLOCK_SIZE] / 127.0) + offset)
                .collect(),
        }
    }

    // ANCHOR: nf4_dequantize
    /// Back to f32: `level[q] · absmax` of the weight's block.
    pub fn dequantize(&self) -> Vec<f32> {
        let absmax = self.block_absmax();
        let levels = self.codes.iter().flat_map(|&b| [b >> 4, b & 0x0F]);
        levels
            .take(self.len)
            .enumerate()
            .map(|(i, q)| NF4_LEVELS[q as usize] * absmax[i / BLOCK_SIZE])
            .collect()
    }
    // ANCHOR_END: nf4_dequantize

    /// Bytes actually stored: the codes and the absmax constants.
    pub fn storage_bytes(&self) -> usize {
        let absmax = match &self.absmax {
            Absmax::F32(a) => 4 * a.len(),
            Absmax::Double { codes, scales, .. } => 4 + codes.len() + 4 * scales.len(),
        };
        self.codes.len() + absmax
    }

    /// Stored bits per weight (≈ 4.127 with double quantization, 4.5 without).
    pub fn bits_per_weight(&self) -> f64 {
        8.0 * self.storage_bytes() as f64 / self.len as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inverse CDF of the standard normal (Acklam's rational approximation,
    /// relative error below 1.2e-9), central region only (0.02425 ≤ p ≤ 0.97575).
    fn normal_ppf(p: f64) -> f64 {
        const A: [f64; 6] = [
            -3.969683028665376e1,
            2.209460984245205e2,
            -2.759285104469687e2,
            1.38357751867269e2,
            -3.066479806614716e1,
            2.506628277459239,
        ];
        const B: [f64; 5] = [
            -5.447609879822406e1,
            1.615858368580409e2,
            -1.556989798598866e2,
            6.680131188771972e1,
            -1.328068155288572e1,
        ];
        assert!((0.02425..=0.97575).contains(&p));
        let q = p - 0.5;
        let r = q * q;
        let num = A.iter().fold(0.0, |acc, a| acc * r + a);
        let den = B.iter().fold(0.0, |acc, b| acc * r + b) * r + 1.0;
        num * q / den
    }

    /// A deterministic, roughly normal sample (sum of 4 uniforms, centred).
    fn normalish(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        let mut uniform = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| ((0..4).map(|_| uniform()).sum::<f64>() - 2.0) as f32 * 0.02)
            .collect()
    }

    #[test]
    fn levels_are_sorted_contain_zero_and_unit_and_are_normal_quantiles() {
        assert!(NF4_LEVELS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            (NF4_LEVELS[0], NF4_LEVELS[7], NF4_LEVELS[15]),
            (-1.0, 0.0, 1.0)
        );
        // Asymmetric by one level: 8 above zero, 7 below (QLoRA §3).
        assert_eq!(NF4_LEVELS.iter().filter(|&&l| l > 0.0).count(), 8);
        assert_eq!(NF4_LEVELS.iter().filter(|&&l| l < 0.0).count(), 7);

        // Recompute them as bitsandbytes' create_normal_map does: positive
        // levels at the normal quantiles of linspace(offset, 0.5, 9)[:-1],
        // negative ones at linspace(offset, 0.5, 8)[:-1], then divided by the largest.
        assert!((normal_ppf(0.975) - 1.959_963_985).abs() < 1e-8);
        let offset = 0.967_708_3;
        let lin = |k: usize, i: usize| offset + (0.5 - offset) * i as f64 / (k - 1) as f64;
        let top = normal_ppf(offset);
        let mut expected: Vec<f64> = (0..8).map(|i| normal_ppf(lin(9, i)) / top).collect();
        expected.extend((0..7).map(|i| -normal_ppf(lin(8, i)) / top));
        expected.push(0.0);
        expected.sort_by(f64::total_cmp);
        for (l, e) in NF4_LEVELS.iter().zip(&expected) {
            assert!((*l as f64 - e).abs() < 1e-5, "{l} vs {e}");
        }
    }

    #[test]
    fn every_value_maps_to_its_nearest_level() {
        let x = normalish(4096 + 17, 1);
        let t = quantize_nf4_with(&x, false);
        let absmax = t.block_absmax();
        let q: Vec<u8> = t.codes.iter().flat_map(|&b| [b >> 4, b & 0x0F]).collect();
        for (i, &v) in x.iter().enumerate() {
            let s = v / absmax[i / BLOCK_SIZE];
            let d = |k: usize| (s - NF4_LEVELS[k]).abs();
            let best = (0..16).map(d).fold(f32::INFINITY, f32::min);
            assert!(
                d(q[i] as usize) <= best + 1e-6,
                "value {i}: {s} got level {}",
                q[i]
            );
        }
        // The block maximum lands on ±1 exactly.
        assert!(q[..BLOCK_SIZE].iter().any(|&c| c == 0 || c == 15));
    }

    #[test]
    fn round_trip_error_is_bounded() {
        // Largest half-gap between neighbouring levels: (1 - 0.696)/2 ≈ 0.152.
        let half_gap = NF4_LEVELS
            .windows(2)
            .map(|w| (w[1] - w[0]) / 2.0)
            .fold(0.0, f32::max);
        assert!((0.15..0.16).contains(&half_gap));
        let n = 64 * 256 * 2 + 37; // a partial block and a partial group
        let x = normalish(n, 7);
        let plain = quantize_nf4_with(&x, false);
        let double = quantize_nf4(&x);
        let exact = plain.block_absmax();
        let decoded = double.block_absmax();
        let Absmax::Double { scales, .. } = &double.absmax else {
            panic!("double quantization expected");
        };
        for (t, amax) in [(&plain, &exact), (&double, &decoded)] {
            let y = t.dequantize();
            assert_eq!(y.len(), n);
            for (i, (a, b)) in x.iter().zip(&y).enumerate() {
                let blk = i / BLOCK_SIZE;
                // Level error, plus what the second quantization did to the absmax.
                let bound =
                    half_gap * exact[blk] + (exact[blk] - amax[blk]).abs() + 1e-6 * exact[blk];
                assert!((a - b).abs() <= bound, "{i}: {a} vs {b} (bound {bound})");
            }
            let rms = |v: &[f32]| (v.iter().map(|a| a * a).sum::<f32>() / v.len() as f32).sqrt();
            let err: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
            assert!(
                rms(&err) / rms(&x) < 0.12,
                "relative rms {}",
                rms(&err) / rms(&x)
            );
        }
        // Int8 of the centred absmax: off by at most half a step.
        for (b, (e, d)) in exact.iter().zip(&decoded).enumerate() {
            let step = scales[b / DQ_BLOCK_SIZE] / 127.0;
            assert!((e - d).abs() <= step / 2.0 + 1e-7, "block {b}: {e} vs {d}");
        }
    }

    #[test]
    fn bits_per_weight_from_storage_equals_the_formula() {
        assert_eq!(bits_per_weight_formula(false), 4.5);
        assert!((bits_per_weight_formula(true) - 4.127).abs() < 1e-3);
        let n = 64 * 256 * 4;
        let x = normalish(n, 3);
        assert_eq!(quantize_nf4_with(&x, false).bits_per_weight(), 4.5);
        // The formula counts per weight; the stored tensor adds its one f32 mean.
        let stored = quantize_nf4(&x).bits_per_weight();
        assert_eq!(stored, bits_per_weight_formula(true) + 32.0 / n as f64);
        assert!((stored - 4.127).abs() < 1e-3, "{stored}");
    }

    #[test]
    fn zeros_empty_and_odd_lengths() {
        let t = quantize_nf4(&[]);
        assert!(t.is_empty() && t.dequantize().is_empty());
        let t = quantize_nf4(&[0.0; 3]);
        assert_eq!(t.codes, vec![0x77, 0x77]); // level 7 is 0.0, padded
        assert_eq!(t.dequantize(), vec![0.0; 3]);
        let t = quantize_nf4_with(&[1.0, -2.0, 0.5], false);
        assert_eq!(t.codes[0] >> 4, nearest_level(0.5));
        assert_eq!(t.dequantize()[1], -2.0);
    }
}
