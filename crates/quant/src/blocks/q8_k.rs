//! Q8_K: the 8-bit format ggml quantizes *activations* to before a dot
//! product with K-quant weights. 256 values share one f32 scale; each is an
//! i8 `q` and `x = d·q`; `bsums` caches the sum of each 16 codes (used by
//! the dot products to apply a block's minimum in one multiply). 292 bytes
//! per 256 values. Never stored in model files.

use super::kquant::nearest_int;

/// Values per block (ggml's `QK_K`).
pub const QK_K: usize = 256;

// ANCHOR: q8_k_block
/// `block_q8_K` from ggml's `ggml-common.h`, field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ8K {
    /// Scale (a full f32: this block lives only in memory).
    pub d: f32,
    /// Quantized values.
    pub qs: [i8; QK_K],
    /// Sum of each group of 16 codes.
    pub bsums: [i16; QK_K / 16],
}
// ANCHOR_END: q8_k_block

const _: () = assert!(size_of::<BlockQ8K>() == BlockQ8K::SIZE);

impl BlockQ8K {
    /// Bytes per block.
    pub const SIZE: usize = 4 + QK_K + 2 * QK_K / 16;

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        Self {
            d: f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            qs: std::array::from_fn(|i| b[4 + i] as i8),
            bsums: std::array::from_fn(|i| i16::from_le_bytes([b[260 + 2 * i], b[261 + 2 * i]])),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..4].copy_from_slice(&self.d.to_le_bytes());
        for (o, &q) in b[4..260].iter_mut().zip(&self.qs) {
            *o = q as u8;
        }
        for (o, s) in b[260..].as_chunks_mut::<2>().0.iter_mut().zip(self.bsums) {
            *o = s.to_le_bytes();
        }
        b
    }

    /// `x = d·q`.
    pub fn dequantize(&self, out: &mut [f32; QK_K]) {
        for (o, &q) in out.iter_mut().zip(&self.qs) {
            *o = self.d * q as f32;
        }
    }

    // ANCHOR: q8_k_quant
    /// ggml's `quantize_row_q8_K_ref`: the value of largest magnitude maps to
    /// -127 (ggml chose -127, not -128, to keep its AVX code simple).
    pub fn quantize(x: &[f32; QK_K]) -> Self {
        let (mut max, mut amax) = (0.0f32, 0.0f32);
        for &v in x {
            if v.abs() > amax {
                (amax, max) = (v.abs(), v);
            }
        }
        if amax == 0.0 {
            return Self {
                d: 0.0,
                qs: [0; QK_K],
                bsums: [0; QK_K / 16],
            };
        }
        let iscale = -127.0 / max;
        let qs = x.map(|v| nearest_int(iscale * v).min(127) as i8);
        let bsums =
            std::array::from_fn(|j| qs[16 * j..16 * j + 16].iter().map(|&q| q as i16).sum());
        Self {
            d: 1.0 / iscale,
            qs,
            bsums,
        }
    }
    // ANCHOR_END: q8_k_quant
}

/// Dequantize whole blocks; the caller checked the sizes.
pub fn dequantize_row(bytes: &[u8], out: &mut [f32]) {
    let blocks = bytes.as_chunks::<{ BlockQ8K::SIZE }>().0;
    for (b, o) in blocks.iter().zip(out.as_chunks_mut::<QK_K>().0) {
        BlockQ8K::from_bytes(b).dequantize(o);
    }
}

/// Quantize whole blocks; the caller checked the sizes.
pub fn quantize_row(x: &[f32], out: &mut [u8]) {
    let blocks = out.as_chunks_mut::<{ BlockQ8K::SIZE }>().0;
    for (x, o) in x.as_chunks::<QK_K>().0.iter().zip(blocks) {
        *o = BlockQ8K::quantize(x).to_bytes();
    }
}
