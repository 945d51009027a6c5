//! Q5_1: 32 weights share an f16 scale `d` and an f16 minimum `m`; each
//! weight is a 5-bit `q` in 0..32 and `x = q * d + m`. 24 bytes per 32
//! weights (6 bits per weight). Bit layout as Q5_0: 4-bit nibbles like Q4_1
//! plus a u32 `qh` holding every weight's fifth bit.

use std::mem::offset_of;

use half::f16;

/// Weights per block (ggml's `QK5_1`).
pub const QK5_1: usize = 32;

// ANCHOR: q5_1_block
/// `block_q5_1` from ggml's `ggml-common.h`, field for field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockQ5_1 {
    /// Scale.
    pub d: f16,
    /// Minimum: the value of code 0.
    pub m: f16,
    /// Fifth bit of every weight, bit `j` of this little-endian u32 for weight `j`.
    pub qh: [u8; 4],
    /// Low 4 bits: weight `j` low nibble, weight `j + 16` high nibble.
    pub qs: [u8; QK5_1 / 2],
}
// ANCHOR_END: q5_1_block

const _: () = assert!(size_of::<BlockQ5_1>() == BlockQ5_1::SIZE);

impl BlockQ5_1 {
    /// Bytes per block on disk.
    pub const SIZE: usize = 2 + 2 + 4 + QK5_1 / 2;
    /// Where `d` starts in the block's bytes (the struct has ggml's layout,
    /// so its field offsets are the file's): for the SIMD kernels.
    pub const D: usize = offset_of!(Self, d);
    /// Where `m` starts.
    pub const M: usize = offset_of!(Self, m);
    /// Where the 32 fifth bits (a little-endian u32) start.
    pub const QH: usize = offset_of!(Self, qh);
    /// Where the nibbles start.
    pub const QS: usize = offset_of!(Self, qs);

    /// The block's fields from its bytes: the one place Q5_1 is decoded.
    #[inline]
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        Self {
            d: f16::from_le_bytes([b[Self::D], b[Self::D + 1]]),
            m: f16::from_le_bytes([b[Self::M], b[Self::M + 1]]),
            qh: std::array::from_fn(|i| b[Self::QH + i]),
            qs: std::array::from_fn(|i| b[Self::QS + i]),
        }
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[..2].copy_from_slice(&self.d.to_le_bytes());
        b[2..4].copy_from_slice(&self.m.to_le_bytes());
        b[4..8].copy_from_slice(&self.qh);
        b[8..].copy_from_slice(&self.qs);
        b
    }

    // ANCHOR: q5_1_dequant
    /// `x = q * d + m` with `q = nibble | fifth_bit << 4`.
    pub fn dequantize(&self, out: &mut [f32; QK5_1]) {
        let (d, m) = (self.d.to_f32(), self.m.to_f32());
        let qh = u32::from_le_bytes(self.qh);
        for (j, &byte) in self.qs.iter().enumerate() {
            let h0 = ((qh >> j) & 1) << 4;
            let h1 = ((qh >> (j + 16)) & 1) << 4;
            out[j] = ((byte & 0x0F) as u32 | h0) as f32 * d + m;
            out[j + QK5_1 / 2] = ((byte >> 4) as u32 | h1) as f32 * d + m;
        }
    }
    // ANCHOR_END: q5_1_dequant

    // ANCHOR: q5_1_quant
    /// ggml's `quantize_row_q5_1_ref`: code 0 is the block minimum, code 31 the maximum.
    pub fn quantize(x: &[f32; QK5_1]) -> Self {
        let (mut min, mut max) = (f32::MAX, -f32::MAX);
        for &v in x {
            if v < min {
                min = v;
            }
            if v > max {
                max = v;
            }
        }
        let d = (max - min) / 31.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        // C: (uint8_t)((x - min)*id + 0.5f): truncation after adding 0.5 rounds to nearest.
        let code = |v: f32| ((v - min) * id + 0.5) as u8;
        let (mut qs, mut qh) = ([0u8; QK5_1 / 2], 0u32);
        for j in 0..QK5_1 / 2 {
            let (q0, q1) = (code(x[j]), code(x[j + QK5_1 / 2]));
            qs[j] = (q0 & 0x0F) | ((q1 & 0x0F) << 4);
            qh |= ((q0 as u32 & 0x10) >> 4) << j;
            qh |= ((q1 as u32 & 0x10) >> 4) << (j + QK5_1 / 2);
        }
        Self {
            d: f16::from_f32(d),
            m: f16::from_f32(min),
            qh: qh.to_le_bytes(),
            qs,
        }
    }
    // ANCHOR_END: q5_1_quant
}

/// Dequantize whole blocks; the caller checked the sizes.
pub fn dequantize_row(bytes: &[u8], out: &mut [f32]) {
    let blocks = bytes.as_chunks::<{ BlockQ5_1::SIZE }>().0;
    for (b, o) in blocks.iter().zip(out.as_chunks_mut::<QK5_1>().0) {
        BlockQ5_1::from_bytes(b).dequantize(o);
    }
}

/// Quantize whole blocks; the caller checked the sizes.
pub fn quantize_row(x: &[f32], out: &mut [u8]) {
    let blocks = out.as_chunks_mut::<{ BlockQ5_1::SIZE }>().0;
    for (x, o) in x.as_chunks::<QK5_1>().0.iter().zip(blocks) {
        *o = BlockQ5_1::quantize(x).to_bytes();
    }
}
