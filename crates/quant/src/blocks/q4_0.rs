//! Q4_0: 32 weights share one f16 scale `d`; each weight is a 4-bit `q` in
//! 0..16 and `x = (q - 8) * d`. 18 bytes per 32 weights (4.5 bits per weight).
//!
//! Nibble order: byte `j` holds weight `j` in its low nibble and weight
//! `j + 16` in its high nibble (not weights `2j` and `2j + 1`).

use std::mem::offset_of;

use half::f16;

/// Weights per block (ggml's `QK4_0`).
pub const QK4_0: usize = 32;

/// `block_q4_0` from ggml's `ggml-common.h`, field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ4_0 {
    /// Scale.
    pub d: f16,
    /// Two 4-bit weights per byte: `j` low, `j + 16` high.
    pub qs: [u8; QK4_0 / 2],
}

const _: () = assert!(size_of::<BlockQ4_0>() == BlockQ4_0::SIZE);

impl BlockQ4_0 {
    /// Bytes per block on disk.
    pub const SIZE: usize = 2 + QK4_0 / 2;
    /// Where `d` starts in the block's bytes (the struct has ggml's layout,
    /// so its field offsets are the file's): for the SIMD kernels.
    pub const D: usize = offset_of!(Self, d);
    /// Where the nibbles start.
    pub const QS: usize = offset_of!(Self, qs);

    /// The block's fields from its bytes: the one place Q4_0 is decoded.
    #[inline]
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        Self {
            d: f16::from_le_bytes([b[Self::D], b[Self::D + 1]]),
            qs: std::array::from_fn(|i| b[Self::QS + i]),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..2].copy_from_slice(&self.d.to_le_bytes());
        b[2..].copy_from_slice(&self.qs);
        b
    }

    // ANCHOR: q4_0_dequant
    /// `x = (q - 8) * d`: 4-bit codes centred on 8.
    pub fn dequantize(&self, out: &mut [f32; QK4_0]) {
        let d = self.d.to_f32();
        for (j, &byte) in self.qs.iter().enumerate() {
            out[j] = ((byte & 0x0F) as i32 - 8) as f32 * d; // low nibble: first half
            out[j + QK4_0 / 2] = ((byte >> 4) as i32 - 8) as f32 * d; // high: second half
        }
    }
    // ANCHOR_END: q4_0_dequant

    /// ggml's `quantize_row_q4_0_ref`. The scale is chosen so that the weight
    /// with the largest magnitude, sign included, lands exactly on code 0 (-8).
    pub fn quantize(x: &[f32; QK4_0]) -> Self {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in x {
            if amax < v.abs() {
                (amax, max) = (v.abs(), v);
            }
        }
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        // C: MIN(15, (int8_t)(x*id + 8.5f)): truncation after adding 8.5 rounds to nearest.
        let code = |v: f32| ((v * id + 8.5) as i8).min(15) as u8;
        let qs = std::array::from_fn(|j| code(x[j]) | (code(x[j + QK4_0 / 2]) << 4));
        Self {
            d: f16::from_f32(d),
            qs,
        }
    }
}

/// Dequantize whole blocks; the caller checked the sizes.
pub fn dequantize_row(bytes: &[u8], out: &mut [f32]) {
    let blocks = bytes.as_chunks::<{ BlockQ4_0::SIZE }>().0;
    for (b, o) in blocks.iter().zip(out.as_chunks_mut::<QK4_0>().0) {
        BlockQ4_0::from_bytes(b).dequantize(o);
    }
}

/// Quantize whole blocks; the caller checked the sizes.
pub fn quantize_row(x: &[f32], out: &mut [u8]) {
    let blocks = out.as_chunks_mut::<{ BlockQ4_0::SIZE }>().0;
    for (x, o) in x.as_chunks::<QK4_0>().0.iter().zip(blocks) {
        *o = BlockQ4_0::quantize(x).to_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_nibbles_are_the_first_half() {
        let mut bytes = [0u8; BlockQ4_0::SIZE];
        bytes[..2].copy_from_slice(&f16::from_f32(1.0).to_le_bytes());
        bytes[2] = 0xA3; // element 0: 3 - 8 = -5; element 16: 10 - 8 = 2
        let mut out = [0.0; QK4_0];
        BlockQ4_0::from_bytes(&bytes).dequantize(&mut out);
        assert_eq!((out[0], out[1], out[16]), (-5.0, -8.0, 2.0));
    }

    #[test]
    fn largest_magnitude_maps_to_code_zero() {
        let mut x = [0.25f32; QK4_0];
        x[7] = -2.0;
        let b = BlockQ4_0::quantize(&x);
        assert_eq!(b.d.to_f32(), 0.25);
        assert_eq!(b.qs[7] & 0x0F, 0);
    }
}
