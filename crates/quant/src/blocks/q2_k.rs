//! Q2_K: a super-block of 256 weights in 16 sub-blocks of 16. Each sub-block
//! has a 4-bit scale and a 4-bit minimum (one byte), themselves scaled by the
//! super-block's f16 `d` and `dmin`; each weight is a 2-bit `q` and
//! `x = d·scale·q - dmin·min`. 84 bytes per 256 weights (2.625 bits per weight).
//!
//! Bit layout: weight `i` sits in byte `(i / 128)·32 + i % 32` of `qs`, at bit
//! `2·((i % 128) / 32)`: four weights 32 apart share a byte.

use half::f16;

use super::kquant::{make_qkx2_quants, nearest_int};

/// Weights per super-block (ggml's `QK_K`).
pub const QK_K: usize = 256;

// ANCHOR: q2_k_block
/// `block_q2_K` from ggml's `ggml-common.h`, field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ2K {
    /// Per sub-block: scale in the low nibble, minimum in the high nibble.
    pub scales: [u8; QK_K / 16],
    /// 2-bit weights, four per byte.
    pub qs: [u8; QK_K / 4],
    /// Super-block scale of the scales.
    pub d: f16,
    /// Super-block scale of the minimums.
    pub dmin: f16,
}
// ANCHOR_END: q2_k_block

const _: () = assert!(size_of::<BlockQ2K>() == BlockQ2K::SIZE);

impl BlockQ2K {
    /// Bytes per block on disk.
    pub const SIZE: usize = QK_K / 16 + QK_K / 4 + 2 + 2;

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        Self {
            scales: std::array::from_fn(|i| b[i]),
            qs: std::array::from_fn(|i| b[16 + i]),
            d: f16::from_le_bytes([b[80], b[81]]),
            dmin: f16::from_le_bytes([b[82], b[83]]),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..16].copy_from_slice(&self.scales);
        b[16..80].copy_from_slice(&self.qs);
        b[80..82].copy_from_slice(&self.d.to_le_bytes());
        b[82..].copy_from_slice(&self.dmin.to_le_bytes());
        b
    }

    // ANCHOR: q2_k_dequant
    /// `x = (d·scale)·q - dmin·min`, per 16-weight sub-block.
    pub fn dequantize(&self, out: &mut [f32; QK_K]) {
        let (d, dmin) = (self.d.to_f32(), self.dmin.to_f32());
        for (i, o) in out.iter_mut().enumerate() {
            let sc = self.scales[i / 16];
            let (dl, ml) = (d * (sc & 0xF) as f32, dmin * (sc >> 4) as f32);
            let q = (self.qs[i / 128 * 32 + i % 32] >> (2 * (i % 128 / 32))) & 3;
            *o = dl * q as f32 - ml;
        }
    }
    // ANCHOR_END: q2_k_dequant

    // ANCHOR: q2_k_quant
    /// ggml's `quantize_row_q2_K_ref`: fit scale and min per sub-block
    /// (weighted by |x|, absolute error), quantize those to 4 bits against
    /// their maxima, then re-round the weights with the decoded scales.
    pub fn quantize(x: &[f32; QK_K]) -> Self {
        let mut l = [0u8; QK_K];
        let (mut scales, mut mins) = ([0.0f32; 16], [0.0f32; 16]);
        let (mut max_scale, mut max_min) = (0.0f32, 0.0f32);
        for j in 0..QK_K / 16 {
            let xs = &x[16 * j..16 * j + 16];
            let weights: [f32; 16] = std::array::from_fn(|i| xs[i].abs());
            let l_j = &mut l[16 * j..16 * j + 16];
            (scales[j], mins[j]) = make_qkx2_quants(3, xs, &weights, l_j, -0.5, 0.1, 15, true);
            max_scale = if scales[j] > max_scale {
                scales[j]
            } else {
                max_scale
            };
            max_min = if mins[j] > max_min { mins[j] } else { max_min };
        }
        let mut b = Self {
            scales: [0; 16],
            qs: [0; 64],
            d: f16::ZERO,
            dmin: f16::ZERO,
        };
        if max_scale > 0.0 {
            let iscale = 15.0 / max_scale;
            for (o, &s) in b.scales.iter_mut().zip(&scales) {
                *o = nearest_int(iscale * s) as u8;
            }
            b.d = f16::from_f32(max_scale / 15.0);
        }
        if max_min > 0.0 {
            let iscale = 15.0 / max_min;
            for (o, &m) in b.scales.iter_mut().zip(&mins) {
                *o |= (nearest_int(iscale * m) << 4) as u8;
            }
            b.dmin = f16::from_f32(max_min / 15.0);
        }
        for j in 0..QK_K / 16 {
            let d = b.d.to_f32() * (b.scales[j] & 0xF) as f32;
            if d == 0.0 {
                continue;
            }
            let dm = b.dmin.to_f32() * (b.scales[j] >> 4) as f32;
            for ii in 0..16 {
                l[16 * j + ii] = nearest_int((x[16 * j + ii] + dm) / d).clamp(0, 3) as u8;
            }
        }
        for (i, &q) in l.iter().enumerate() {
            b.qs[i / 128 * 32 + i % 32] |= q << (2 * (i % 128 / 32));
        }
        b
    }
    // ANCHOR_END: q2_k_quant
}

/// Dequantize whole blocks; the caller checked the sizes.
pub fn dequantize_row(bytes: &[u8], out: &mut [f32]) {
    let blocks = bytes.as_chunks::<{ BlockQ2K::SIZE }>().0;
    for (b, o) in blocks.iter().zip(out.as_chunks_mut::<QK_K>().0) {
        BlockQ2K::from_bytes(b).dequantize(o);
    }
}

/// Quantize whole blocks; the caller checked the sizes.
pub fn quantize_row(x: &[f32], out: &mut [u8]) {
    let blocks = out.as_chunks_mut::<{ BlockQ2K::SIZE }>().0;
    for (x, o) in x.as_chunks::<QK_K>().0.iter().zip(blocks) {
        *o = BlockQ2K::quantize(x).to_bytes();
    }
}
