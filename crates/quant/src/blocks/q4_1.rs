//! Q4_1: 32 weights share an f16 scale `d` and an f16 minimum `m`; each
//! weight is a 4-bit `q` in 0..16 and `x = q * d + m`. 20 bytes per 32
//! weights (5 bits per weight). The minimum lets a block whose values are
//! all positive (or all negative) use all 16 codes.
//!
//! Nibble order: byte `j` holds weight `j` in its low nibble and weight
//! `j + 16` in its high nibble (not weights `2j` and `2j + 1`).

use std::mem::offset_of;

use half::f16;

/// Weights per block (ggml's `QK4_1`).
pub const QK4_1: usize = 32;

/// `block_q4_1` from ggml's `ggml-common.h`, field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ4_1 {
    /// Scale.
    pub d: f16,
    /// Minimum: the value of code 0.
    pub m: f16,
    /// Two 4-bit weights per byte: `j` low, `j + 16` high.
    pub qs: [u8; QK4_1 / 2],
}

const _: () = assert!(size_of::<BlockQ4_1>() == BlockQ4_1::SIZE);

impl BlockQ4_1 {
    /// Bytes per block on disk.
    pub const SIZE: usize = 2 + 2 + QK4_1 / 2;
    /// Where `d` starts in the block's bytes (the struct has ggml's layout,
    /// so its field offsets are the file's): for the SIMD kernels.
    pub const D: usize = offset_of!(Self, d);
    /// Where `m` starts.
    pub const M: usize = offset_of!(Self, m);
    /// Where the nibbles start.
    pub const QS: usize = offset_of!(Self, qs);

    /// The block's fields from its bytes: the one place Q4_1 is decoded.
    #[inline]
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        Self {
            d: f16::from_le_bytes([b[Self::D], b[Self::D + 1]]),
            m: f16::from_le_bytes([b[Self::M], b[Self::M + 1]]),
            qs: std::array::from_fn(|i| b[Self::QS + i]),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..2].copy_from_slice(&self.d.to_le_bytes());
        b[2..4].copy_from_slice(&self.m.to_le_bytes());
        b[4..].copy_from_slice(&self.qs);
        b
    }

    // ANCHOR: q4_1_dequant
    /// `x = q * d + m`, two weights per byte.
    pub fn dequantize(&self, out: &mut [f32; QK4_1]) {
        let d = self.d.to_f32();
        let m = self.m.to_f32();
        for (j, &byte) in self.qs.iter().enumerate() {
            out[j] = (byte & 0x0F) as f32 * d + m; // low nibble: first half
            out[j + QK4_1 / 2] = (byte >> 4) as f32 * d + m; // high nibble: second half
        }
    }
    // ANCHOR_END: q4_1_dequant

    /// ggml's `quantize_row_q4_1_ref`: code 0 is the block minimum, code 15 the maximum.
    pub fn quantize(x: &[f32; QK4_1]) -> Self {
        let (mut min, mut max) = (f32::MAX, -f32::MAX);
        for &v in x {
            if v < min {
                min = v;
            }
            if v > max {
                max = v;
            }
        }
        let d = (max - min) / 15.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        // C: MIN(15, (int8_t)((x - min)*id + 0.5f)): truncation after adding 0.5 rounds to nearest.
        let code = |v: f32| (((v - min) * id + 0.5) as i8).min(15) as u8;
        let qs = std::array::from_fn(|j| code(x[j]) | (code(x[j + QK4_1 / 2]) << 4));
        Self {
            d: f16::from_f32(d),
            m: f16::from_f32(min),
            qs,
        }
    }
}

/// Dequantize whole blocks; the caller checked the sizes.
pub fn dequantize_row(bytes: &[u8], out: &mut [f32]) {
    let blocks = bytes.as_chunks::<{ BlockQ4_1::SIZE }>().0;
    for (b, o) in blocks.iter().zip(out.as_chunks_mut::<QK4_1>().0) {
        BlockQ4_1::from_bytes(b).dequantize(o);
    }
}

/// Quantize whole blocks; the caller checked the sizes.
pub fn quantize_row(x: &[f32], out: &mut [u8]) {
    let blocks = out.as_chunks_mut::<{ BlockQ4_1::SIZE }>().0;
    for (x, o) in x.as_chunks::<QK4_1>().0.iter().zip(blocks) {
        *o = BlockQ4_1::quantize(x).to_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_nibbles_are_the_first_half() {
        let mut bytes = [0u8; BlockQ4_1::SIZE];
        bytes[..2].copy_from_slice(&f16::from_f32(0.5).to_le_bytes());
        bytes[2..4].copy_from_slice(&f16::from_f32(-1.0).to_le_bytes());
        bytes[4] = 0xF2; // element 0: 2 * 0.5 - 1 = 0; element 16: 15 * 0.5 - 1 = 6.5
        let mut out = [0.0; QK4_1];
        BlockQ4_1::from_bytes(&bytes).dequantize(&mut out);
        assert_eq!((out[0], out[1], out[16], out[17]), (0.0, -1.0, 6.5, -1.0));
    }

    #[test]
    fn min_and_max_get_codes_0_and_15() {
        let x: [f32; QK4_1] = std::array::from_fn(|i| i as f32 / 31.0 * 3.0 + 1.0);
        let b = BlockQ4_1::quantize(&x);
        assert_eq!(b.m.to_f32(), 1.0);
        assert_eq!((b.qs[0] & 0x0F, b.qs[15] >> 4), (0, 15));
    }
}
