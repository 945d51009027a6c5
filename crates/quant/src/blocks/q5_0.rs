//! Q5_0: 32 weights share an f16 scale `d`; each weight is a 5-bit `q` in
//! 0..32 and `x = (q - 16) * d`. 22 bytes per 32 weights (5.5 bits per weight).
//!
//! The low 4 bits are packed two per byte exactly like Q4_0 (weight `j` low
//! nibble, weight `j + 16` high nibble); the 32 fifth bits live together in
//! one little-endian u32 `qh`, bit `j` for weight `j`.

use std::mem::offset_of;

use half::f16;

/// Weights per block (ggml's `QK5_0`).
pub const QK5_0: usize = 32;

// ANCHOR: q5_0_block
/// `block_q5_0` from ggml's `ggml-common.h`, field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ5_0 {
    /// Scale.
    pub d: f16,
    /// Fifth bit of every weight, bit `j` of this little-endian u32 for weight `j`.
    pub qh: [u8; 4],
    /// Low 4 bits: weight `j` low nibble, weight `j + 16` high nibble.
    pub qs: [u8; QK5_0 / 2],
}
// ANCHOR_END: q5_0_block

const _: () = assert!(size_of::<BlockQ5_0>() == BlockQ5_0::SIZE);

impl BlockQ5_0 {
    /// Bytes per block on disk.
    pub const SIZE: usize = 2 + 4 + QK5_0 / 2;
    /// Where `d` starts in the block's bytes (the struct has ggml's layout,
    /// so its field offsets are the file's): for the SIMD kernels.
    pub const D: usize = offset_of!(Self, d);
    /// Where the 32 fifth bits (a little-endian u32) start.
    pub const QH: usize = offset_of!(Self, qh);
    /// Where the nibbles start.
    pub const QS: usize = offset_of!(Self, qs);

    /// The block's fields from its bytes: the one place Q5_0 is decoded.
    #[inline]
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        Self {
            d: f16::from_le_bytes([b[Self::D], b[Self::D + 1]]),
            qh: std::array::from_fn(|i| b[Self::QH + i]),
            qs: std::array::from_fn(|i| b[Self::QS + i]),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..2].copy_from_slice(&self.d.to_le_bytes());
        b[2..6].copy_from_slice(&self.qh);
        b[6..].copy_from_slice(&self.qs);
        b
    }

    // ANCHOR: q5_0_dequant
    /// `x = (q - 16) * d` with `q = nibble | fifth_bit << 4`.
    pub fn dequantize(&self, out: &mut [f32; QK5_0]) {
        let d = self.d.to_f32();
        let qh = u32::from_le_bytes(self.qh);
        for (j, &byte) in self.qs.iter().enumerate() {
            let h0 = ((qh >> j) & 1) << 4;
            let h1 = ((qh >> (j + 16)) & 1) << 4;
            out[j] = (((byte & 0x0F) as u32 | h0) as i32 - 16) as f32 * d;
            out[j + QK5_0 / 2] = (((byte >> 4) as u32 | h1) as i32 - 16) as f32 * d;
        }
    }
    // ANCHOR_END: q5_0_dequant

    // ANCHOR: q5_0_quant
    /// ggml's `quantize_row_q5_0_ref`: like Q4_0, the weight with the largest
    /// magnitude (sign included) lands exactly on code 0, i.e. `d = max / -16`.
    pub fn quantize(x: &[f32; QK5_0]) -> Self {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in x {
            if amax < v.abs() {
                (amax, max) = (v.abs(), v);
            }
        }
        let d = max / -16.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        // C: MIN(31, (int8_t)(x*id + 16.5f)): truncation after adding 16.5 rounds to nearest.
        let code = |v: f32| ((v * id + 16.5) as i8).min(31) as u8;
        let (mut qs, mut qh) = ([0u8; QK5_0 / 2], 0u32);
        for j in 0..QK5_0 / 2 {
            let (q0, q1) = (code(x[j]), code(x[j + QK5_0 / 2]));
            qs[j] = (q0 & 0x0F) | ((q1 & 0x0F) << 4);
            qh |= ((q0 as u32 & 0x10) >> 4) << j;
            qh |= ((q1 as u32 & 0x10) >> 4) << (j + QK5_0 / 2);
        }
        Self {
            d: f16::from_f32(d),
            qh: qh.to_le_bytes(),
            qs,
        }
    }
    // ANCHOR_END: q5_0_quant
}

/// Dequantize whole blocks; the caller checked the sizes.
pub fn dequantize_row(bytes: &[u8], out: &mut [f32]) {
    let blocks = bytes.as_chunks::<{ BlockQ5_0::SIZE }>().0;
    for (b, o) in blocks.iter().zip(out.as_chunks_mut::<QK5_0>().0) {
        BlockQ5_0::from_bytes(b).dequantize(o);
    }
}

/// Quantize whole blocks; the caller checked the sizes.
pub fn quantize_row(x: &[f32], out: &mut [u8]) {
    let blocks = out.as_chunks_mut::<{ BlockQ5_0::SIZE }>().0;
    for (x, o) in x.as_chunks::<QK5_0>().0.iter().zip(blocks) {
        *o = BlockQ5_0::quantize(x).to_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifth_bits_come_from_qh() {
        let mut bytes = [0u8; BlockQ5_0::SIZE];
        bytes[..2].copy_from_slice(&f16::from_f32(1.0).to_le_bytes());
        bytes[2..6].copy_from_slice(&(1u32 | 1 << 16).to_le_bytes()); // fifth bit of weights 0 and 16
        bytes[6] = 0x3F; // weight 0: 15 | 16 = 31; weight 16: 3 | 16 = 19
        let mut out = [0.0; QK5_0];
        BlockQ5_0::from_bytes(&bytes).dequantize(&mut out);
        assert_eq!((out[0], out[16], out[1]), (15.0, 3.0, -16.0));
    }
}
