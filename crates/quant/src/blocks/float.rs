//! Unquantized element types: f32, f16 (IEEE half) and bf16 (bfloat16),
//! stored little-endian one value after another (a "block" of one).
//!
//! The caller (`blocks::dequantize_into` / `quantize_into`) has checked that
//! `bytes.len() == values.len() * type_size`.

use half::f16;

pub fn f32_to_f32(bytes: &[u8], out: &mut [f32]) {
    for (b, o) in bytes.as_chunks::<4>().0.iter().zip(out) {
        *o = f32::from_le_bytes(*b);
    }
}

/// Exact: every f16 is an f32. In runs of 64 through `half`'s slice
/// conversion, which uses the CPU's F16C instructions, 8 values each, where
/// it has them (one call per value costs a prompt's F16 matrices several
/// times their multiply).
pub fn f16_to_f32(bytes: &[u8], out: &mut [f32]) {
    use half::slice::HalfFloatSliceExt;
    let mut run = [f16::ZERO; 64];
    for (b, o) in bytes.chunks(2 * run.len()).zip(out.chunks_mut(run.len())) {
        let run = &mut run[..o.len()];
        for (h, b) in run.iter_mut().zip(b.as_chunks::<2>().0) {
            *h = f16::from_le_bytes(*b);
        }
        run.convert_to_f32_slice(o);
    }
}

/// bf16 is the top half of an f32, so widening is a shift.
pub fn bf16_to_f32(bytes: &[u8], out: &mut [f32]) {
    for (b, o) in bytes.as_chunks::<2>().0.iter().zip(out) {
        *o = f32::from_bits((u16::from_le_bytes(*b) as u32) << 16);
    }
}

pub fn f32_to_bytes(values: &[f32], out: &mut [u8]) {
    for (v, o) in values.iter().zip(out.as_chunks_mut::<4>().0) {
        *o = v.to_le_bytes();
    }
}

/// Round to nearest, ties to even, like ggml's `GGML_FP32_TO_FP16`.
pub fn f32_to_f16(values: &[f32], out: &mut [u8]) {
    for (v, o) in values.iter().zip(out.as_chunks_mut::<2>().0) {
        *o = f16::from_f32(*v).to_le_bytes();
    }
}

pub fn f32_to_bf16(values: &[f32], out: &mut [u8]) {
    for (v, o) in values.iter().zip(out.as_chunks_mut::<2>().0) {
        *o = bf16_bits(*v).to_le_bytes();
    }
}

/// ggml's `ggml_compute_fp32_to_bf16`: round to nearest even, NaN made quiet.
fn bf16_bits(v: f32) -> u16 {
    let bits = v.to_bits();
    if bits & 0x7fff_ffff > 0x7f80_0000 {
        return ((bits >> 16) | 64) as u16; // NaN: keep the sign, force a quiet NaN
    }
    let round = 0x7fff + ((bits >> 16) & 1);
    (bits.wrapping_add(round) >> 16) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even() {
        // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to even (1.0).
        assert_eq!(bf16_bits(1.0 + 1.0 / 256.0), 0x3f80);
        // 1 + 3 * 2^-8 is halfway too; the even neighbour is above.
        assert_eq!(bf16_bits(1.0 + 3.0 / 256.0), 0x3f82);
        assert_eq!(bf16_bits(-2.0), 0xc000);
        assert!(f32::from_bits((bf16_bits(f32::NAN) as u32) << 16).is_nan());
    }

    #[test]
    fn halves_widen_exactly() {
        let mut out = [0.0; 3];
        f16_to_f32(&[0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00], &mut out); // 1, -2, smallest subnormal
        assert_eq!(out, [1.0, -2.0, 2f32.powi(-24)]);
        bf16_to_f32(&[0x80, 0x3f, 0x49, 0x40, 0x80, 0xff], &mut out);
        assert_eq!(out, [1.0, 3.140625, f32::NEG_INFINITY]);
    }
}
