//! Q6_K: a super-block of 256 weights in 16 sub-blocks of 16. Each sub-block
//! has a signed 8-bit scale, scaled by the super-block's f16 `d`; each weight
//! is a 6-bit `q` in -32..32 and `x = d·scale·q`. 210 bytes per 256 weights
//! (6.5625 bits per weight). No minimum: the codes are symmetric around 0.
//!
//! Bit layout, per 128 weights: `ql` has 64 bytes, weights 0..32 and 32..64
//! in the low nibbles, 64..96 and 96..128 in the high nibbles; `qh` has 32
//! bytes, the top 2 bits of weights `l`, `l+32`, `l+64`, `l+96` in byte `l`.

use std::mem::offset_of;

use half::f16;

use super::kquant::{GROUP_MAX_EPS, make_qx_quants, nearest_int};

/// Weights per super-block (ggml's `QK_K`).
pub const QK_K: usize = 256;

// ANCHOR: q6_k_block
/// `block_q6_K` from ggml's `ggml-common.h`, field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ6K {
    /// Low 4 bits of each weight.
    pub ql: [u8; QK_K / 2],
    /// High 2 bits of each weight.
    pub qh: [u8; QK_K / 4],
    /// Signed scale per 16-weight sub-block.
    pub scales: [i8; QK_K / 16],
    /// Super-block scale.
    pub d: f16,
}
// ANCHOR_END: q6_k_block

const _: () = assert!(size_of::<BlockQ6K>() == BlockQ6K::SIZE);

impl BlockQ6K {
    /// Bytes per block on disk.
    pub const SIZE: usize = QK_K / 2 + QK_K / 4 + QK_K / 16 + 2;
    /// Where the low 4 bits start in the block's bytes (the struct has
    /// ggml's layout, so its field offsets are the file's): for the SIMD kernels.
    pub const QL: usize = offset_of!(Self, ql);
    /// Where the high 2 bits start.
    pub const QH: usize = offset_of!(Self, qh);
    /// Where the 16 signed scales start.
    pub const SCALES: usize = offset_of!(Self, scales);
    /// Where `d` starts.
    pub const D: usize = offset_of!(Self, d);

    /// The block's fields from its bytes: the one place Q6_K is decoded.
    #[inline]
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        Self {
            ql: std::array::from_fn(|i| b[Self::QL + i]),
            qh: std::array::from_fn(|i| b[Self::QH + i]),
            scales: std::array::from_fn(|i| b[Self::SCALES + i] as i8),
            d: f16::from_le_bytes([b[Self::D], b[Self::D + 1]]),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..128].copy_from_slice(&self.ql);
        b[128..192].copy_from_slice(&self.qh);
        for (o, &s) in b[192..208].iter_mut().zip(&self.scales) {
            *o = s as u8;
        }
        b[208..].copy_from_slice(&self.d.to_le_bytes());
        b
    }

    /// Where weight `i` (0..256) keeps its bits: (ql index, ql shift, qh index, qh shift).
    fn position(i: usize) -> (usize, usize, usize, usize) {
        let (half, r) = (i / 128, i % 128);
        let (quarter, l) = (r / 32, r % 32);
        let ql = half * 64 + (quarter % 2) * 32 + l;
        (ql, 4 * (quarter / 2), half * 32 + l, 2 * quarter)
    }

    /// The centred code `q - 32` (in -32..32) of weight `i` (0..256).
    #[inline]
    pub fn code(&self, i: usize) -> i32 {
        let (ql, ql_shift, qh, qh_shift) = Self::position(i);
        let low = (self.ql[ql] >> ql_shift) & 0xF;
        let high = (self.qh[qh] >> qh_shift) & 3;
        (low | (high << 4)) as i32 - 32
    }

    // ANCHOR: q6_k_dequant
    /// `x = (d·scale)·(q - 32)`.
    pub fn dequantize(&self, out: &mut [f32; QK_K]) {
        let d = self.d.to_f32();
        for (i, o) in out.iter_mut().enumerate() {
            *o = d * self.scales[i / 16] as f32 * self.code(i) as f32;
        }
    }
    // ANCHOR_END: q6_k_dequant

    // ANCHOR: q6_k_quant
    /// ggml's `quantize_row_q6_K_ref`: a signed scale per sub-block from
    /// `make_qx_quants`, the scales to 8 bits against the one of largest
    /// magnitude, then the weights re-rounded with the decoded scales.
    pub fn quantize(x: &[f32; QK_K]) -> Self {
        let mut l = [0i8; QK_K];
        let mut scales = [0.0f32; 16];
        let (mut max_scale, mut max_abs_scale) = (0.0f32, 0.0f32);
        for j in 0..QK_K / 16 {
            scales[j] = make_qx_quants(32, &x[16 * j..16 * j + 16], &mut l[16 * j..16 * j + 16]);
            if scales[j].abs() > max_abs_scale {
                (max_abs_scale, max_scale) = (scales[j].abs(), scales[j]);
            }
        }
        let mut b = Self {
            ql: [0; 128],
            qh: [0; 64],
            scales: [0; 16],
            d: f16::ZERO,
        };
        if max_abs_scale < GROUP_MAX_EPS {
            return b; // all (near) zero: an all-zero block
        }
        let iscale = -128.0 / max_scale;
        b.d = f16::from_f32(1.0 / iscale);
        for (o, &s) in b.scales.iter_mut().zip(&scales) {
            *o = nearest_int(iscale * s).min(127) as i8;
        }
        for j in 0..QK_K / 16 {
            let d = b.d.to_f32() * b.scales[j] as f32;
            if d == 0.0 {
                continue;
            }
            for ii in 0..16 {
                l[16 * j + ii] = (nearest_int(x[16 * j + ii] / d).clamp(-32, 31) + 32) as i8;
            }
        }
        for (i, &q) in l.iter().enumerate() {
            let (ql, ql_shift, qh, qh_shift) = Self::position(i);
            b.ql[ql] |= (q as u8 & 0xF) << ql_shift;
            b.qh[qh] |= (q as u8 >> 4) << qh_shift;
        }
        b
    }
    // ANCHOR_END: q6_k_quant
}

/// Dequantize whole blocks; the caller checked the sizes.
pub fn dequantize_row(bytes: &[u8], out: &mut [f32]) {
    let blocks = bytes.as_chunks::<{ BlockQ6K::SIZE }>().0;
    for (b, o) in blocks.iter().zip(out.as_chunks_mut::<QK_K>().0) {
        BlockQ6K::from_bytes(b).dequantize(o);
    }
}

/// Quantize whole blocks; the caller checked the sizes.
pub fn quantize_row(x: &[f32], out: &mut [u8]) {
    let blocks = out.as_chunks_mut::<{ BlockQ6K::SIZE }>().0;
    for (x, o) in x.as_chunks::<QK_K>().0.iter().zip(blocks) {
        *o = BlockQ6K::quantize(x).to_bytes();
    }
}
