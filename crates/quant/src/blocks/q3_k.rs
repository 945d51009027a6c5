//! Q3_K: a super-block of 256 weights in 16 sub-blocks of 16. Each sub-block
//! has a signed 6-bit scale, scaled by the super-block's f16 `d`; each weight
//! is a 3-bit `q` in -4..4 and `x = d·(scale - 32)·q`. 110 bytes per 256
//! weights (3.4375 bits per weight).
//!
//! Bit layout: the low 2 bits of weight `i` are packed like Q2_K (byte
//! `(i / 128)·32 + i % 32`, bit `2·((i % 128) / 32)`); its third bit is bit
//! `i / 32` of `hmask[i % 32]`, set meaning "no -4 offset". The 16 6-bit
//! scales: low 4 bits in nibbles of bytes 0..8, top 2 bits in bytes 8..12.

use half::f16;

use super::kquant::{make_q3_quants, nearest_int};

/// Weights per super-block (ggml's `QK_K`).
pub const QK_K: usize = 256;

// ANCHOR: q3_k_block
/// `block_q3_K` from ggml's `ggml-common.h`, field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ3K {
    /// Third bit of each weight: bit `i / 32` of byte `i % 32`.
    pub hmask: [u8; QK_K / 8],
    /// Low 2 bits of each weight, four per byte.
    pub qs: [u8; QK_K / 4],
    /// Sixteen 6-bit scales, packed into 12 bytes.
    pub scales: [u8; 12],
    /// Super-block scale.
    pub d: f16,
}
// ANCHOR_END: q3_k_block

const _: () = assert!(size_of::<BlockQ3K>() == BlockQ3K::SIZE);

impl BlockQ3K {
    /// Bytes per block on disk.
    pub const SIZE: usize = QK_K / 8 + QK_K / 4 + 12 + 2;

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        Self {
            hmask: std::array::from_fn(|i| b[i]),
            qs: std::array::from_fn(|i| b[32 + i]),
            scales: std::array::from_fn(|i| b[96 + i]),
            d: f16::from_le_bytes([b[108], b[109]]),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..32].copy_from_slice(&self.hmask);
        b[32..96].copy_from_slice(&self.qs);
        b[96..108].copy_from_slice(&self.scales);
        b[108..].copy_from_slice(&self.d.to_le_bytes());
        b
    }

    /// The 6-bit scale of sub-block `j` (0..16), still offset by 32.
    fn scale(&self, j: usize) -> i8 {
        let low = if j < 8 {
            self.scales[j] & 0xF
        } else {
            self.scales[j - 8] >> 4
        };
        let high = (self.scales[8 + j % 4] >> (2 * (j / 4))) & 3;
        (low | (high << 4)) as i8
    }

    // ANCHOR: q3_k_dequant
    /// `x = d·(scale - 32)·(q - 4·!high_bit)`.
    pub fn dequantize(&self, out: &mut [f32; QK_K]) {
        let d = self.d.to_f32();
        for (i, o) in out.iter_mut().enumerate() {
            let dl = d * (self.scale(i / 16) - 32) as f32;
            let low = (self.qs[i / 128 * 32 + i % 32] >> (2 * (i % 128 / 32))) & 3;
            let high = (self.hmask[i % 32] >> (i / 32)) & 1;
            *o = dl * (low as i32 - if high == 1 { 0 } else { 4 }) as f32;
        }
    }
    // ANCHOR_END: q3_k_dequant

    // ANCHOR: q3_k_quant
    /// ggml's `quantize_row_q3_K_ref`: a signed scale per sub-block from
    /// `make_q3_quants`, those scales quantized to 6 bits against the one of
    /// largest magnitude, then the weights re-rounded with the decoded scales.
    pub fn quantize(x: &[f32; QK_K]) -> Self {
        let mut l = [0i8; QK_K];
        let mut scales = [0.0f32; 16];
        let (mut max_scale, mut amax) = (0.0f32, 0.0f32);
        for j in 0..QK_K / 16 {
            scales[j] = make_q3_quants(4, &x[16 * j..16 * j + 16], &mut l[16 * j..16 * j + 16]);
            if scales[j].abs() > amax {
                (amax, max_scale) = (scales[j].abs(), scales[j]);
            }
        }
        let mut b = Self {
            hmask: [0; 32],
            qs: [0; 64],
            scales: [0; 12],
            d: f16::ZERO,
        };
        if max_scale != 0.0 {
            let iscale = -32.0 / max_scale;
            for (j, &s) in scales.iter().enumerate() {
                // C: int8_t l = nearest_int(..): truncate to i8, then clamp.
                let ls = ((nearest_int(iscale * s) as i8).clamp(-32, 31) + 32) as u8;
                if j < 8 {
                    b.scales[j] = ls & 0xF;
                } else {
                    b.scales[j - 8] |= (ls & 0xF) << 4;
                }
                b.scales[j % 4 + 8] |= (ls >> 4) << (2 * (j / 4));
            }
            b.d = f16::from_f32(1.0 / iscale);
        }
        for j in 0..QK_K / 16 {
            let d = b.d.to_f32() * (b.scale(j) - 32) as f32;
            if d == 0.0 {
                continue;
            }
            for ii in 0..16 {
                l[16 * j + ii] = (nearest_int(x[16 * j + ii] / d).clamp(-4, 3) + 4) as i8;
            }
        }
        for (i, &q) in l.iter().enumerate() {
            let q = q as u8;
            if q > 3 {
                b.hmask[i % 32] |= 1 << (i / 32);
            }
            b.qs[i / 128 * 32 + i % 32] |= (q & 3) << (2 * (i % 128 / 32));
        }
        b
    }
    // ANCHOR_END: q3_k_quant
}

/// Dequantize whole blocks; the caller checked the sizes.
pub fn dequantize_row(bytes: &[u8], out: &mut [f32]) {
    let blocks = bytes.as_chunks::<{ BlockQ3K::SIZE }>().0;
    for (b, o) in blocks.iter().zip(out.as_chunks_mut::<QK_K>().0) {
        BlockQ3K::from_bytes(b).dequantize(o);
    }
}

/// Quantize whole blocks; the caller checked the sizes.
pub fn quantize_row(x: &[f32], out: &mut [u8]) {
    let blocks = out.as_chunks_mut::<{ BlockQ3K::SIZE }>().0;
    for (x, o) in x.as_chunks::<QK_K>().0.iter().zip(blocks) {
        *o = BlockQ3K::quantize(x).to_bytes();
    }
}
