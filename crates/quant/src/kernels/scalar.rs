//! The portable 8-bit-activation kernels (ggml's scheme, not the engine's):
//! the same integer sums as the SIMD ones, one weight at a time. `unsafe`
//! only to share the SIMD kernels' type.

use super::QK;
use super::q8act::Q8Activation;
use crate::blocks::q4_0::BlockQ4_0;
use crate::blocks::q4_1::BlockQ4_1;
use crate::blocks::q8_0::BlockQ8_0;

// ANCHOR: dot_q4_1_q8
/// Q4_1 · Q8: `Σ_b d_w·d_x·Σ q_w·q_x + m_w·s_x`.
pub unsafe fn dot_q4_1(row: &[u8], x: &Q8Activation) -> f32 {
    let mut sum = 0.0f32;
    for (b, blk) in row.as_chunks::<{ BlockQ4_1::SIZE }>().0.iter().enumerate() {
        let blk = BlockQ4_1::from_bytes(blk);
        let (d_w, m_w) = (blk.d.to_f32(), blk.m.to_f32());
        let qx = &x.qs[b * QK..(b + 1) * QK];
        let mut sumi = 0i32;
        // byte j holds weight j (low nibble) and weight j + 16 (high nibble)
        for (j, &byte) in blk.qs.iter().enumerate() {
            sumi += (byte & 0x0F) as i32 * qx[j] as i32;
            sumi += (byte >> 4) as i32 * qx[j + 16] as i32;
        }
        sum += d_w * x.d(b) * sumi as f32 + m_w * x.s(b);
    }
    sum
}
// ANCHOR_END: dot_q4_1_q8

/// Q4_0 · Q8: `Σ_b d_w·d_x·Σ (q_w - 8)·q_x`.
pub unsafe fn dot_q4_0(row: &[u8], x: &Q8Activation) -> f32 {
    let mut sum = 0.0f32;
    for (b, blk) in row.as_chunks::<{ BlockQ4_0::SIZE }>().0.iter().enumerate() {
        let blk = BlockQ4_0::from_bytes(blk);
        let qx = &x.qs[b * QK..(b + 1) * QK];
        let mut sumi = 0i32;
        for (j, &byte) in blk.qs.iter().enumerate() {
            sumi += ((byte & 0x0F) as i32 - 8) * qx[j] as i32;
            sumi += ((byte >> 4) as i32 - 8) * qx[j + 16] as i32;
        }
        sum += blk.d.to_f32() * x.d(b) * sumi as f32;
    }
    sum
}

/// Q8_0 · Q8: `Σ_b d_w·d_x·Σ q_w·q_x`.
pub unsafe fn dot_q8_0(row: &[u8], x: &Q8Activation) -> f32 {
    let mut sum = 0.0f32;
    for (b, blk) in row.as_chunks::<{ BlockQ8_0::SIZE }>().0.iter().enumerate() {
        let blk = BlockQ8_0::from_bytes(blk);
        let qx = &x.qs[b * QK..(b + 1) * QK];
        let sumi: i32 = blk
            .qs
            .iter()
            .zip(qx)
            .map(|(&w, &q)| w as i32 * q as i32)
            .sum();
        sum += blk.d.to_f32() * x.d(b) * sumi as f32;
    }
    sum
}
