//! The x86 kernels, as ggml's `ggml_vec_dot_*`: which ones this CPU can run,
//! and the helpers they share. `f32act` holds the engine's AVX2 kernels
//! (`kquant` those of the types a K-quant mix adds), `avx512` its AVX-512
//! ones (`kquant512` those of the K-quants' super-blocks and F16), `q8act` ggml's
//! 8-bit-activation ones (AVX2 and AVX-512 VNNI), `gemm` the micro-kernels of
//! the prompts' tiled product (`gemm_rows` those of a few rows), `lanes` the
//! fused attention and gated activation for AVX2 and AVX-512.
//!
//! The kernels take raw pointers into a row of blocks; where a block's scale
//! and weights sit comes from its struct in [`blocks`](crate::blocks)
//! (`BlockQ4_1::D`, `::QS`…), the one definition of each layout.

pub mod avx512;
pub mod f32act;
pub mod gemm;
pub mod gemm_rows;
pub mod kquant;
pub mod kquant512;
pub mod lanes;
pub mod q8act;

use std::arch::x86_64::*;
use std::sync::OnceLock;

use super::Kernels;

/// Which x86 kernels may run, from slowest to fastest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The portable kernels only.
    None,
    /// AVX2, FMA and F16C.
    Avx2,
    /// AVX2 and AVX-512 F, BW and VL: the engine's 16-lane kernels.
    Avx512,
    /// All of the above and AVX-512 VNNI: ggml's 8-bit kernels too.
    Vnni,
}

/// What this CPU has, detected once.
fn detected() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let avx2 = is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c");
        let avx512 = is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl");
        let vnni = is_x86_feature_detected!("avx512vnni");
        match (avx2, avx512, vnni) {
            (false, _, _) => Level::None,
            (true, false, _) => Level::Avx2,
            (true, true, false) => Level::Avx512,
            (true, true, true) => Level::Vnni,
        }
    })
}

/// The kernels that run: what the CPU has, capped by the caller's choice.
pub fn level(kernels: Kernels) -> Level {
    let cap = match kernels {
        Kernels::Best | Kernels::Avx512 => Level::Vnni,
        Kernels::Avx2 => Level::Avx2,
        Kernels::Scalar => Level::None,
    };
    detected().min(cap)
}

/// Sum of the 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
}

/// The two f16 at `p` as f32 lanes 0 and 1: a Q4_1 block's `d` and `m`
/// (adjacent, see the assert below), or a `d` in lane 0 and whatever follows
/// it, inside the block, in lane 1.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_pair(p: *const u8) -> __m128 {
    _mm_cvtph_ps(_mm_cvtsi32_si128(unsafe {
        (p as *const i32).read_unaligned()
    }))
}

const _: () = assert!(crate::blocks::q4_1::BlockQ4_1::M == crate::blocks::q4_1::BlockQ4_1::D + 2);

/// 16 bytes of nibbles → 32 bytes: low nibbles (weights 0..16), then high (16..32).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn unpack_nibbles(p: *const u8) -> __m256i {
    let bytes = unsafe { _mm_loadu_si128(p as *const __m128i) };
    let mask = _mm_set1_epi8(0x0F);
    let lo = _mm_and_si128(bytes, mask);
    let hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
    _mm256_set_m128i(hi, lo)
}
