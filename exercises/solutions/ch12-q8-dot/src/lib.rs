//! Solution of the chapter 12 exercise.

use half::f16;

pub fn dot_q8_0(row: &[u8], x_q: &[i8], x_d: &[f32]) -> f32 {
    let mut sum = 0.0f32;
    for (b, blk) in row.chunks_exact(34).enumerate() {
        let d_w = f16::from_le_bytes([blk[0], blk[1]]).to_f32();
        let q = &x_q[b * 32..b * 32 + 32];
        let sumi: i32 = blk[2..]
            .iter()
            .zip(q)
            .map(|(&w, &x)| w as i8 as i32 * x as i32)
            .sum();
        sum += d_w * x_d[b] * sumi as f32;
    }
    sum
}
