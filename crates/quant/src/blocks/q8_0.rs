//! Q8_0: 32 weights share one f16 scale `d`; each weight is an i8 `q`,
//! and `x = q * d`. 34 bytes per 32 weights (8.5 bits per weight).

use std::mem::offset_of;

use half::f16;

/// Weights per block (ggml's `QK8_0`).
pub const QK8_0: usize = 32;

/// `block_q8_0` from ggml's `ggml-common.h`, field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ8_0 {
    /// Scale.
    pub d: f16,
    /// Quantized weights.
    pub qs: [i8; QK8_0],
}

const _: () = assert!(size_of::<BlockQ8_0>() == BlockQ8_0::SIZE);

impl BlockQ8_0 {
    /// Bytes per block on disk.
    pub const SIZE: usize = 2 + QK8_0;
    /// Where `d` starts in the block's bytes (the struct has ggml's layout,
    /// so its field offsets are the file's): for the SIMD kernels.
    pub const D: usize = offset_of!(Self, d);
    /// Where the 32 weights start.
    pub const QS: usize = offset_of!(Self, qs);

    /// The block's fields from its bytes: the one place Q8_0 is decoded.
    #[inline]
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        Self {
            d: f16::from_le_bytes([b[Self::D], b[Self::D + 1]]),
            qs: std::array::from_fn(|i| b[Self::QS + i] as i8),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..2].copy_from_slice(&self.d.to_le_bytes());
        for (o, q) in b[2..].iter_mut().zip(self.qs) {
            *o = q as u8;
        }
        b
    }

    // ANCHOR: q8_0_dequant
    /// `x = q * d`.
    pub fn dequantize(&self, out: &mut [f32; QK8_0]) {
        let d = self.d.to_f32();
        for (o, &q) in out.iter_mut().zip(&self.qs) {
            *o = q as f32 * d;
        }
    }
    // ANCHOR_END: q8_0_dequant

    /// ggml's `quantize_row_q8_0_ref`: the largest |x| maps to ±127.
    pub fn quantize(x: &[f32; QK8_0]) -> Self {
        // MAX(amax, |v|) written as in C so NaNs behave the same way.
        let amax = x.iter().fold(
            0.0f32,
            |amax, v| if amax > v.abs() { amax } else { v.abs() },
        );
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        // f32::round is C's roundf: halves round away from zero.
        let qs = x.map(|v| (v * id).round() as i8);
        Self {
            d: f16::from_f32(d),
            qs,
        }
    }
}

/// Dequantize whole blocks; the caller checked the sizes.
pub fn dequantize_row(bytes: &[u8], out: &mut [f32]) {
    let blocks = bytes.as_chunks::<{ BlockQ8_0::SIZE }>().0;
    for (b, o) in blocks.iter().zip(out.as_chunks_mut::<QK8_0>().0) {
        BlockQ8_0::from_bytes(b).dequantize(o);
    }
}

/// Quantize whole blocks; the caller checked the sizes.
pub fn quantize_row(x: &[f32], out: &mut [u8]) {
    let blocks = out.as_chunks_mut::<{ BlockQ8_0::SIZE }>().0;
    for (x, o) in x.as_chunks::<QK8_0>().0.iter().zip(blocks) {
        *o = BlockQ8_0::quantize(x).to_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_scale_then_weights() {
        let mut bytes = [0u8; BlockQ8_0::SIZE];
        bytes[..2].copy_from_slice(&f16::from_f32(0.5).to_le_bytes());
        bytes[2] = 3;
        bytes[3] = (-4i8) as u8;
        let block = BlockQ8_0::from_bytes(&bytes);
        assert_eq!(block.to_bytes(), bytes);
        let mut out = [0.0; QK8_0];
        block.dequantize(&mut out);
        assert_eq!(&out[..3], &[1.5, -2.0, 0.0]);
    }

    #[test]
    fn exact_halves_round_away_from_zero() {
        // amax = 127 gives d = 1: 0.5 -> 1, -2.5 -> -3 (round-to-even would give 0 and -2).
        let mut x = [0.0f32; QK8_0];
        x[0] = 127.0;
        x[1] = 0.5;
        x[2] = -2.5;
        let b = BlockQ8_0::quantize(&x);
        assert_eq!(&b.qs[..3], &[127, 1, -3]);
    }
}
