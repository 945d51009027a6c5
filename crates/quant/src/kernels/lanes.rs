//! Arithmetic written as loops over 16 lanes, for the kernels that are
//! plain Rust rather than intrinsics (the fused attention, the gated
//! activation). Each is `#[inline(always)]` and generic over `FMA`: inlined
//! into a `#[target_feature]` function (`x86/lanes.rs`), its lane loops
//! become that instruction set's vector operations (one `zmm` register, or
//! two `ymm`); inlined into a plain function, the portable code.

/// Lanes of the loops: one AVX-512 register, two AVX2 ones.
pub(super) const L: usize = 16;

/// `a·b + c`, fused where the instruction set has FMA (a plain
/// `mul_add` without it calls a slow library routine).
#[inline(always)]
pub(super) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `a·b` with L partial sums.
#[inline(always)]
pub(super) fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; L];
    let (ac, bc) = (a.chunks_exact(L), b.chunks_exact(L));
    let tail: f32 = (ac.remainder().iter().zip(bc.remainder()))
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for l in 0..L {
            acc[l] = madd::<FMA>(x[l], y[l], acc[l]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `p[j] = exp(p[j] − max)` for every `j`; returns their sum.
#[inline(always)]
pub(super) fn exp_shifted<const FMA: bool>(p: &mut [f32], max: f32) -> f32 {
    let mut acc = [0f32; L];
    let mut chunks = p.chunks_exact_mut(L);
    for c in &mut chunks {
        for l in 0..L {
            c[l] = exp::<FMA>(c[l] - max);
            acc[l] += c[l];
        }
    }
    let mut sum = 0.0;
    for x in chunks.into_remainder() {
        *x = exp::<FMA>(*x - max);
        sum += *x;
    }
    acc.iter().sum::<f32>() + sum
}

// ANCHOR: exp
/// `eˣ` without branches, so that a loop of them becomes vector
/// instructions: `x = n·ln 2 + r` with `n` an integer and |r| ≤ ½ln 2, then
/// `eˣ = 2ⁿ·eʳ`, `eʳ` by its Taylor series to r⁷ (the next term is below
/// 5·10⁻⁹ of it) and `2ⁿ` written straight into the float's exponent bits.
/// `x` is clamped to [−87, 88], where `2ⁿ` stays a normal float: below, the
/// result is ~10⁻³⁸ instead of smaller (nothing next to a softmax's largest
/// term, which is 1, or to the 1 a sigmoid adds it to); above, ~10³⁸
/// instead of larger (a sigmoid of it is 0 either way).
#[inline(always)]
pub(super) fn exp<const FMA: bool>(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts: n·LN2_HI is exact for the n that occur
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // adding and subtracting 1.5·2²³ rounds to the nearest integer
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = madd::<FMA>(n, -LN2_LO, madd::<FMA>(n, -LN2_HI, x));
    let mut e = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        e = madd::<FMA>(e, r, c);
    }
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}
// ANCHOR_END: exp

#[cfg(test)]
mod tests {
    use super::*;

    /// Within one `f32::EPSILON` of eˣ, relative (measured: 0.78 of it
    /// without FMA, 0.63 with), over the whole range it takes.
    #[test]
    fn exp_is_within_an_epsilon_of_the_true_value() {
        for fma in [false, true] {
            let mut worst = 0f32;
            for i in 0..=400_000 {
                let x = -87.0 + 175.0 * i as f32 / 400_000.0;
                let ours = if fma { exp::<true>(x) } else { exp::<false>(x) };
                let exact = (x as f64).exp();
                let eps = f32::EPSILON as f64 * exact;
                worst = worst.max(((ours as f64 - exact).abs() / eps) as f32);
            }
            assert!(worst < 1.0, "fma {fma}: {worst} epsilons");
        }
        assert_eq!(exp::<true>(0.0), 1.0);
        assert_eq!(exp::<true>(-1000.0), exp::<true>(-87.0));
        assert_eq!(exp::<true>(1000.0), exp::<true>(88.0));
    }

    #[test]
    fn dot_and_shifted_exp_add_up_every_lane_and_the_tail() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.25).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.5).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert_eq!(dot::<false>(&a, &b), want); // small integers/4: exact
        let mut p = vec![-1.0f32; 21];
        let sum = exp_shifted::<false>(&mut p, 1.0);
        assert!(p.iter().all(|&e| (e - (-2f32).exp()).abs() < 1e-7));
        assert!((sum - 21.0 * (-2f32).exp()).abs() < 1e-5);
    }
}
