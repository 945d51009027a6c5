//! Q4_K: a super-block of 256 weights in 8 sub-blocks of 32. Each sub-block
//! has a 6-bit scale and a 6-bit minimum, themselves scaled by the
//! super-block's f16 `d` and `dmin`; each weight is a 4-bit `q` and
//! `x = d·scale·q - dmin·min`. 144 bytes per 256 weights (4.5 bits per weight).
//!
//! Bit layout: each 64 weights use 32 bytes of `qs`, the first 32 weights in
//! the low nibbles and the next 32 in the high nibbles. The scales and mins
//! are packed as in [`get_scale_min_k4`].

use std::mem::offset_of;

use half::f16;

use super::kquant::{get_scale_min_k4, quantize_scale_min_k4};

/// Weights per super-block (ggml's `QK_K`).
pub const QK_K: usize = 256;

// ANCHOR: q4_k_block
/// `block_q4_K` from ggml's `ggml-common.h`, field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ4K {
    /// Super-block scale of the 6-bit scales.
    pub d: f16,
    /// Super-block scale of the 6-bit minimums.
    pub dmin: f16,
    /// Eight 6-bit scales and eight 6-bit minimums, see [`get_scale_min_k4`].
    pub scales: [u8; 12],
    /// 4-bit weights: per 64 weights, 32 bytes of low then high nibbles.
    pub qs: [u8; QK_K / 2],
}
// ANCHOR_END: q4_k_block

const _: () = assert!(size_of::<BlockQ4K>() == BlockQ4K::SIZE);

impl BlockQ4K {
    /// Bytes per block on disk.
    pub const SIZE: usize = 2 + 2 + 12 + QK_K / 2;
    /// Where `d` starts in the block's bytes (the struct has ggml's layout,
    /// so its field offsets are the file's): for the SIMD kernels.
    pub const D: usize = offset_of!(Self, d);
    /// Where `dmin` starts.
    pub const DMIN: usize = offset_of!(Self, dmin);
    /// Where the packed scales and minimums start.
    pub const SCALES: usize = offset_of!(Self, scales);
    /// Where the nibbles start.
    pub const QS: usize = offset_of!(Self, qs);

    /// The block's fields from its bytes: the one place Q4_K is decoded.
    #[inline]
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        Self {
            d: f16::from_le_bytes([b[Self::D], b[Self::D + 1]]),
            dmin: f16::from_le_bytes([b[Self::DMIN], b[Self::DMIN + 1]]),
            scales: std::array::from_fn(|i| b[Self::SCALES + i]),
            qs: std::array::from_fn(|i| b[Self::QS + i]),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..2].copy_from_slice(&self.d.to_le_bytes());
        b[2..4].copy_from_slice(&self.dmin.to_le_bytes());
        b[4..16].copy_from_slice(&self.scales);
        b[16..].copy_from_slice(&self.qs);
        b
    }

    // ANCHOR: q4_k_dequant
    /// `x = (d·scale)·q - dmin·min`, per 32-weight sub-block.
    pub fn dequantize(&self, out: &mut [f32; QK_K]) {
        let (d, dmin) = (self.d.to_f32(), self.dmin.to_f32());
        for (j, o) in out.chunks_exact_mut(32).enumerate() {
            let (sc, m) = get_scale_min_k4(j, &self.scales);
            let (dl, ml) = (d * sc as f32, dmin * m as f32);
            let bytes = &self.qs[j / 2 * 32..j / 2 * 32 + 32];
            let shift = 4 * (j % 2); // even sub-blocks: low nibbles, odd: high
            for (o, &byte) in o.iter_mut().zip(bytes) {
                *o = dl * ((byte >> shift) & 0xF) as f32 - ml;
            }
        }
    }
    // ANCHOR_END: q4_k_dequant

    // ANCHOR: q4_k_quant
    /// ggml's `quantize_row_q4_K_ref`: `make_qkx2_quants` per sub-block, the
    /// scales and mins to 6 bits, the weights re-rounded, then packed.
    pub fn quantize(x: &[f32; QK_K]) -> Self {
        let (d, dmin, scales, l) = quantize_scale_min_k4(x, 15, -1.0, 20);
        let mut qs = [0u8; QK_K / 2];
        for (i, &q) in l.iter().enumerate() {
            qs[i / 64 * 32 + i % 32] |= q << (4 * (i % 64 / 32));
        }
        Self {
            d,
            dmin,
            scales,
            qs,
        }
    }
    // ANCHOR_END: q4_k_quant
}

/// Dequantize whole blocks; the caller checked the sizes.
pub fn dequantize_row(bytes: &[u8], out: &mut [f32]) {
    let blocks = bytes.as_chunks::<{ BlockQ4K::SIZE }>().0;
    for (b, o) in blocks.iter().zip(out.as_chunks_mut::<QK_K>().0) {
        BlockQ4K::from_bytes(b).dequantize(o);
    }
}

/// Quantize whole blocks; the caller checked the sizes.
pub fn quantize_row(x: &[f32], out: &mut [u8]) {
    let blocks = out.as_chunks_mut::<{ BlockQ4K::SIZE }>().0;
    for (x, o) in x.as_chunks::<QK_K>().0.iter().zip(blocks) {
        *o = BlockQ4K::quantize(x).to_bytes();
    }
}
