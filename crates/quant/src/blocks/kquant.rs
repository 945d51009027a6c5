//! The search routines shared by ggml's K-quants (`ggml-quants.c`).
//!
//! A K-quant super-block holds 256 weights split into sub-blocks of 16 or 32,
//! each with its own small integer scale (and minimum). Choosing a sub-block's
//! scale is a tiny least-squares problem: try a few candidate scales, round
//! every weight with each, keep the one with the smallest weighted error.
//! These are line-for-line ports, operation for operation in the same order,
//! because the goal is the same bytes as ggml: f32 arithmetic is not
//! associative, so `a*b*c` here is `(a*b)*c` exactly as C evaluates it (and
//! Rust, like ggml's reference build, never fuses a multiply and an add).

/// ggml's threshold below which a group counts as all zero.
pub const GROUP_MAX_EPS: f32 = 1e-15;

// ANCHOR: nearest_int
/// Round to the nearest integer, ties to even, with ggml's bit trick: adding
/// 1.5 * 2^23 pushes the fraction out of the mantissa, and the FPU's
/// round-to-nearest-even does the rounding. Valid for |x| < 2^22; beyond that
/// (and for NaN) it returns what ggml returns, garbage included.
pub fn nearest_int(x: f32) -> i32 {
    let val = x + 12_582_912.0;
    (val.to_bits() as i32 & 0x007f_ffff) - 0x0040_0000
}
// ANCHOR_END: nearest_int

/// Signed levels around zero for Q6_K: codes `-nmax..nmax`, stored as
/// `L + nmax`. ggml's `make_qx_quants` with `rmse_type == 1` and no importance
/// weights (the only way the reference quantizer calls it): each weight
/// counts `x²`, and 18 scales near `-nmax / max` are tried.
pub fn make_qx_quants(nmax: i32, x: &[f32], l_out: &mut [i8]) -> f32 {
    let (mut max, mut amax) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            (amax, max) = (v.abs(), v);
        }
    }
    if amax < GROUP_MAX_EPS {
        l_out.fill(0);
        return 0.0;
    }
    let level = |iscale: f32, v: f32| nearest_int(iscale * v).clamp(-nmax, nmax - 1);
    // Weighted sums Σ w·x·l and Σ w·l² for one trial scale, w = x².
    let sums = |iscale: f32| {
        let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
        for &v in x {
            let l = level(iscale, v) as f32;
            let w = v * v;
            sumlx += w * v * l;
            suml2 += w * l * l;
        }
        (sumlx, suml2)
    };
    let mut iscale = -(nmax as f32) / max;
    for (o, &v) in l_out.iter_mut().zip(x) {
        *o = (level(iscale, v) + nmax) as i8;
    }
    let (sumlx, suml2) = sums(iscale);
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for is in -9..=9 {
        if is == 0 {
            continue;
        }
        iscale = -(nmax as f32 + 0.1 * is as f32) / max;
        let (sumlx, suml2) = sums(iscale);
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            for (o, &v) in l_out.iter_mut().zip(x) {
                *o = (level(iscale, v) + nmax) as i8;
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

/// Signed levels for Q3_K (`make_q3_quants` with `do_rmse`): start from
/// `-nmax / max`, then up to 5 passes that move single weights to the level
/// that most improves the x²-weighted fit. Stores `L + nmax`.
pub fn make_q3_quants(nmax: i32, x: &[f32], l_out: &mut [i8]) -> f32 {
    let (mut max, mut amax) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            (amax, max) = (v.abs(), v);
        }
    }
    if amax < GROUP_MAX_EPS {
        l_out.fill(0);
        return 0.0;
    }
    let iscale = -(nmax as f32) / max;
    let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
    for (o, &v) in l_out.iter_mut().zip(x) {
        let l = nearest_int(iscale * v).clamp(-nmax, nmax - 1);
        *o = l as i8;
        let w = v * v;
        sumlx += w * v * l as f32;
        suml2 += w * l as f32 * l as f32;
    }
    for _ in 0..5 {
        let mut n_changed = 0;
        for (o, &v) in l_out.iter_mut().zip(x) {
            let w = v * v;
            let li = *o as f32;
            let mut slx = sumlx - w * v * li;
            if slx > 0.0 {
                let mut sl2 = suml2 - w * li * li;
                let new_l = nearest_int(v * sl2 / slx).clamp(-nmax, nmax - 1);
                if new_l != *o as i32 {
                    slx += w * v * new_l as f32;
                    sl2 += w * new_l as f32 * new_l as f32;
                    if sl2 > 0.0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                        *o = new_l as i8;
                        (sumlx, suml2) = (slx, sl2);
                        n_changed += 1;
                    }
                }
            }
        }
        if n_changed == 0 {
            break;
        }
    }
    for o in l_out.iter_mut() {
        *o += nmax as i8;
    }
    if suml2 > 0.0 { sumlx / suml2 } else { 0.0 }
}

// ANCHOR: make_qkx2_quants
/// Levels `0..=nmax` with a scale and a minimum (`x ≈ scale·L - the_min`),
/// ggml's `make_qkx2_quants`: start from the min/max grid, then try
/// `nstep + 1` scales `(rmin + rdelta·is + nmax) / (max - min)`; for each,
/// round, solve the weighted least-squares fit for scale and min in closed
/// form, and keep it if its weighted error (|e| if `use_mad`, else e²) is
/// smaller. Returns `(scale, the_min)`; `the_min` is ≥ 0.
#[allow(clippy::too_many_arguments)] // mirrors ggml's signature
pub fn make_qkx2_quants(
    nmax: i32,
    x: &[f32],
    weights: &[f32],
    l_out: &mut [u8],
    rmin: f32,
    rdelta: f32,
    nstep: i32,
    use_mad: bool,
) -> (f32, f32) {
    let (mut min, mut max) = (x[0], x[0]);
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for (&v, &w) in x.iter().zip(weights).skip(1) {
        min = if v < min { v } else { min };
        max = if v > max { v } else { max };
        sum_w += w;
        sum_x += w * v;
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        l_out.fill(0);
        return (0.0, -min);
    }
    let error = |scale: f32, min: f32, l: &[u8]| {
        let mut err = 0.0f32;
        for ((&v, &w), &q) in x.iter().zip(weights).zip(l) {
            let diff = scale * q as f32 + min - v;
            err += w * if use_mad { diff.abs() } else { diff * diff };
        }
        err
    };
    let mut iscale = nmax as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    for (o, &v) in l_out.iter_mut().zip(x) {
        *o = nearest_int(iscale * (v - min)).clamp(0, nmax) as u8;
    }
    let mut best_error = error(scale, min, l_out);
    if nstep < 1 {
        return (scale, -min);
    }
    let mut laux = [0u8; 32];
    let laux = &mut laux[..x.len()];
    for is in 0..=nstep {
        iscale = (rmin + rdelta * is as f32 + nmax as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0.0f32, 0.0f32, 0.0f32);
        for ((o, &v), &w) in laux.iter_mut().zip(x).zip(weights) {
            let l = nearest_int(iscale * (v - min)).clamp(0, nmax);
            *o = l as u8;
            let l = l as f32;
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * v;
        }
        let det = sum_w * sum_l2 - sum_l * sum_l;
        if det > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let cur_error = error(this_scale, this_min, laux);
            if cur_error < best_error {
                l_out.copy_from_slice(laux);
                (best_error, scale, min) = (cur_error, this_scale, this_min);
            }
        }
    }
    (scale, -min)
}
// ANCHOR_END: make_qkx2_quants

// ANCHOR: get_scale_min_k4
/// Q4_K/Q5_K pack eight 6-bit scales and eight 6-bit mins into 12 bytes:
/// sub-blocks 0..4 use the low 6 bits of bytes 0..4 (scale) and 4..8 (min);
/// sub-blocks 4..8 put their low 4 bits in bytes 8..12 and their top 2 bits
/// in the spare top bits of bytes 0..8. Returns `(scale, min)` of sub-block `j`.
pub fn get_scale_min_k4(j: usize, q: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}
// ANCHOR_END: get_scale_min_k4

/// The inverse of [`get_scale_min_k4`] (as written inline in
/// `quantize_row_q4_K_ref`): pack eight `(scale, min)` pairs of 6 bits.
pub fn pack_scale_min_k4(ls: &[u8; 8], lm: &[u8; 8]) -> [u8; 12] {
    let mut s = [0u8; 12];
    for j in 0..8 {
        if j < 4 {
            s[j] = ls[j];
            s[j + 4] = lm[j];
        } else {
            s[j + 4] = (ls[j] & 0xF) | ((lm[j] & 0xF) << 4);
            s[j - 4] |= (ls[j] >> 4) << 6;
            s[j] |= (lm[j] >> 4) << 6;
        }
    }
    s
}

/// Scale and min search of Q4_K/Q5_K for one super-block: each 32-weight
/// sub-block gets `make_qkx2_quants` with weights `rms(x) + |x|`, then the 8
/// scales and 8 mins are themselves quantized to 6 bits against their maxima.
/// Returns `(d, dmin, packed scales, levels)` where levels are final.
pub fn quantize_scale_min_k4(
    x: &[f32; 256],
    nmax: i32,
    rmin: f32,
    nstep: i32,
) -> (half::f16, half::f16, [u8; 12], [u8; 256]) {
    use half::f16;
    let mut l = [0u8; 256];
    let (mut scales, mut mins) = ([0.0f32; 8], [0.0f32; 8]);
    let (mut max_scale, mut max_min) = (0.0f32, 0.0f32);
    for j in 0..8 {
        let xs = &x[32 * j..32 * j + 32];
        let mut sum_x2 = 0.0f32;
        for &v in xs {
            sum_x2 += v * v;
        }
        let av_x = (sum_x2 / 32.0).sqrt();
        let weights: [f32; 32] = std::array::from_fn(|i| av_x + xs[i].abs());
        let l_j = &mut l[32 * j..32 * j + 32];
        (scales[j], mins[j]) = make_qkx2_quants(nmax, xs, &weights, l_j, rmin, 0.1, nstep, false);
        if scales[j] > max_scale {
            max_scale = scales[j];
        }
        if mins[j] > max_min {
            max_min = mins[j];
        }
    }
    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let ls = scales.map(|s| (nearest_int(inv_scale * s) as u8).min(63));
    let lm = mins.map(|m| (nearest_int(inv_min * m) as u8).min(63));
    let packed = pack_scale_min_k4(&ls, &lm);
    let d = f16::from_f32(max_scale / 63.0);
    let dmin = f16::from_f32(max_min / 63.0);
    // Re-round every weight against the scales as they will be decoded.
    for j in 0..8 {
        let (sc, m) = get_scale_min_k4(j, &packed);
        let dj = d.to_f32() * sc as f32;
        if dj == 0.0 {
            continue;
        }
        let dm = dmin.to_f32() * m as f32;
        for ii in 0..32 {
            l[32 * j + ii] = nearest_int((x[32 * j + ii] + dm) / dj).clamp(0, nmax) as u8;
        }
    }
    (d, dmin, packed, l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_rounds_half_to_even() {
        let cases = [
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (3.49, 3),
        ];
        for (x, want) in cases {
            assert_eq!(nearest_int(x), want, "{x}");
        }
    }

    #[test]
    fn scale_min_packing_round_trips() {
        let ls = [0, 1, 17, 63, 62, 33, 5, 48];
        let lm = [63, 2, 40, 0, 31, 16, 60, 7];
        let packed = pack_scale_min_k4(&ls, &lm);
        for j in 0..8 {
            assert_eq!(get_scale_min_k4(j, &packed), (ls[j], lm[j]));
        }
    }
}
