//! Tensor element formats: plain floats and ggml's quantized blocks.
//!
//! A quantized tensor is a sequence of fixed-size *blocks*. Each block packs
//! `block_size` consecutive weights of one row into `type_size` bytes: a
//! shared scale (and sometimes a minimum) plus small integers. Q4_1, for
//! example, stores 32 weights in 20 bytes (5 bits per weight instead of 32).
//!
//! The K-quants (Q2_K..Q6_K) group 256 weights into a *super-block* of
//! sub-blocks with their own small integer scales, which are in turn scaled
//! by one f16: two levels of scaling for about the cost of one.
//!
//! `GgmlType` lists every type id of `enum ggml_type` in ggml's `ggml.h`;
//! this module converts F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K,
//! Q3_K, Q4_K, Q5_K, Q6_K and Q8_K to f32 and back (the quantizers are ggml's
//! reference ones, byte for byte). The others report `QuantError::Unsupported`.

pub mod float;
pub mod kquant;
pub mod q2_k;
pub mod q3_k;
pub mod q4_0;
pub mod q4_1;
pub mod q4_k;
pub mod q5_0;
pub mod q5_1;
pub mod q5_k;
pub mod q6_k;
pub mod q8_0;
pub mod q8_k;

use std::fmt;

/// A tensor element type, with the numeric ids of `enum ggml_type` (`ggml.h`).
/// Ids 4, 5 and 31..=33, 36..=38 were removed from ggml and never appear in GGUF files.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
    NVFP4 = 40,
    Q1_0 = 41,
    Q2_0 = 42,
}

/// Elements per super-block of the K-quants and i-quants (ggml's `QK_K`).
const QK_K: usize = 256;

impl GgmlType {
    /// Every type, in id order.
    pub const ALL: [GgmlType; 35] = {
        use GgmlType::*;
        [
            F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
            IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, I8, I16, I32, I64, F64,
            IQ1_M, BF16, TQ1_0, TQ2_0, MXFP4, NVFP4, Q1_0, Q2_0,
        ]
    };

    /// The type with ggml id `id`, or `None` for ids ggml does not define.
    pub fn from_u32(id: u32) -> Option<GgmlType> {
        Self::ALL.into_iter().find(|t| *t as u32 == id)
    }

    /// ggml's name for the type (`ggml_type_name`), e.g. `"q4_1"`.
    pub fn name(self) -> &'static str {
        self.traits().0
    }

    /// Elements per block (1 for plain number types).
    pub fn block_size(self) -> usize {
        self.traits().1
    }

    /// Bytes per block.
    pub fn type_size(self) -> usize {
        self.traits().2
    }

    /// `(name, block_size, type_size)`, as in ggml's `type_traits` table.
    fn traits(self) -> (&'static str, usize, usize) {
        use GgmlType::*;
        match self {
            F32 => ("f32", 1, 4),
            F16 => ("f16", 1, 2),
            Q4_0 => ("q4_0", 32, 2 + 16),
            Q4_1 => ("q4_1", 32, 2 + 2 + 16),
            Q5_0 => ("q5_0", 32, 2 + 4 + 16),
            Q5_1 => ("q5_1", 32, 2 + 2 + 4 + 16),
            Q8_0 => ("q8_0", 32, 2 + 32),
            Q8_1 => ("q8_1", 32, 4 + 4 + 32),
            Q2_K => ("q2_K", QK_K, 2 + 2 + QK_K / 16 + QK_K / 4),
            Q3_K => ("q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12),
            Q4_K => ("q4_K", QK_K, 2 + 2 + QK_K / 2 + 12),
            Q5_K => ("q5_K", QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12),
            Q6_K => ("q6_K", QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16),
            Q8_K => ("q8_K", QK_K, 4 + QK_K + QK_K / 8),
            IQ2_XXS => ("iq2_xxs", QK_K, 2 + QK_K / 4),
            IQ2_XS => ("iq2_xs", QK_K, 2 + QK_K / 4 + QK_K / 32),
            IQ3_XXS => ("iq3_xxs", QK_K, 2 + QK_K / 4 + QK_K / 8),
            IQ1_S => ("iq1_s", QK_K, 2 + QK_K / 8 + QK_K / 16),
            IQ4_NL => ("iq4_nl", 32, 2 + 16),
            IQ3_S => ("iq3_s", QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4),
            IQ2_S => ("iq2_s", QK_K, 2 + QK_K / 4 + QK_K / 16),
            IQ4_XS => ("iq4_xs", QK_K, 2 + 2 + QK_K / 2 + QK_K / 64),
            I8 => ("i8", 1, 1),
            I16 => ("i16", 1, 2),
            I32 => ("i32", 1, 4),
            I64 => ("i64", 1, 8),
            F64 => ("f64", 1, 8),
            IQ1_M => ("iq1_m", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32),
            BF16 => ("bf16", 1, 2),
            TQ1_0 => ("tq1_0", QK_K, 2 + 4 * 13),
            TQ2_0 => ("tq2_0", QK_K, 2 + 64),
            MXFP4 => ("mxfp4", 32, 1 + 16),
            NVFP4 => ("nvfp4", 64, 4 + 32),
            Q1_0 => ("q1_0", 128, 2 + 16),
            Q2_0 => ("q2_0", 64, 2 + 16),
        }
    }

    /// Can [`dequantize`] and [`quantize`] handle this type?
    pub fn is_supported(self) -> bool {
        use GgmlType::*;
        matches!(
            self,
            F32 | F16
                | BF16
                | Q8_0
                | Q4_0
                | Q4_1
                | Q5_0
                | Q5_1
                | Q2_K
                | Q3_K
                | Q4_K
                | Q5_K
                | Q6_K
                | Q8_K
        )
    }

    /// Bytes taken by `n_elements` values of this type. They must fill whole
    /// blocks: ggml never splits a block across rows.
    pub fn n_bytes(self, n_elements: usize) -> Result<usize, QuantError> {
        let (block_size, type_size) = (self.block_size(), self.type_size());
        if !n_elements.is_multiple_of(block_size) {
            return Err(QuantError::PartialBlock {
                ty: self,
                n_elements,
                block_size,
            });
        }
        (n_elements / block_size)
            .checked_mul(type_size)
            .ok_or(QuantError::TooLarge {
                ty: self,
                n_elements,
            })
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why bytes and values could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantError {
    #[error("{op} is not implemented for {ty} yet")]
    Unsupported { ty: GgmlType, op: &'static str },
    #[error("{n_elements} values do not fill whole {ty} blocks of {block_size}")]
    PartialBlock {
        ty: GgmlType,
        n_elements: usize,
        block_size: usize,
    },
    #[error("{n_elements} values of {ty} need {expected} bytes, got {got}")]
    SizeMismatch {
        ty: GgmlType,
        n_elements: usize,
        expected: usize,
        got: usize,
    },
    #[error("{n_elements} values of {ty} do not fit in memory")]
    TooLarge { ty: GgmlType, n_elements: usize },
    #[error("vector {what} has {got} elements, the matrix needs {expected}")]
    VectorLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("unknown kernels `{name}` (expected best, avx512, avx2 or scalar)")]
    UnknownKernels { name: String },
}

/// Decode `n_elements` values of type `ty` from `bytes` into a new vector.
pub fn dequantize(ty: GgmlType, bytes: &[u8], n_elements: usize) -> Result<Vec<f32>, QuantError> {
    // Validate before allocating: the vector's size comes from the caller.
    check(ty, "dequantize", n_elements, bytes.len())?;
    let mut out = vec![0.0; n_elements];
    dequantize_into(ty, bytes, &mut out)?;
    Ok(out)
}

/// Decode `out.len()` values of type `ty` from `bytes` into `out`, without allocating.
pub fn dequantize_into(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<(), QuantError> {
    check(ty, "dequantize", out.len(), bytes.len())?;
    match ty {
        GgmlType::F32 => float::f32_to_f32(bytes, out),
        GgmlType::F16 => float::f16_to_f32(bytes, out),
        GgmlType::BF16 => float::bf16_to_f32(bytes, out),
        GgmlType::Q8_0 => q8_0::dequantize_row(bytes, out),
        GgmlType::Q4_0 => q4_0::dequantize_row(bytes, out),
        GgmlType::Q4_1 => q4_1::dequantize_row(bytes, out),
        GgmlType::Q5_0 => q5_0::dequantize_row(bytes, out),
        GgmlType::Q5_1 => q5_1::dequantize_row(bytes, out),
        GgmlType::Q2_K => q2_k::dequantize_row(bytes, out),
        GgmlType::Q3_K => q3_k::dequantize_row(bytes, out),
        GgmlType::Q4_K => q4_k::dequantize_row(bytes, out),
        GgmlType::Q5_K => q5_k::dequantize_row(bytes, out),
        GgmlType::Q6_K => q6_k::dequantize_row(bytes, out),
        GgmlType::Q8_K => q8_k::dequantize_row(bytes, out),
        _ => {
            return Err(QuantError::Unsupported {
                ty,
                op: "dequantize",
            });
        }
    }
    Ok(())
}

/// Encode `values` as type `ty`, exactly as ggml's `quantize_row_*_ref` does.
///
/// Like ggml's reference quantizers this does not look for NaN or infinity:
/// such inputs (and values so large that a block's f16 scale overflows)
/// give the same meaningless bytes ggml gives. `llama-quantize` rejects the
/// result afterwards (`ggml_validate_row_data`); our whole-model
/// [`crate::quantize_model()`] refuses both cases with an error naming the
/// tensor.
pub fn quantize(ty: GgmlType, values: &[f32]) -> Result<Vec<u8>, QuantError> {
    let n_bytes = ty.n_bytes(values.len())?;
    let mut out = vec![0; n_bytes];
    quantize_into(ty, values, &mut out)?;
    Ok(out)
}

/// Encode `values` as type `ty` into `out`, which must be exactly the right size.
pub fn quantize_into(ty: GgmlType, values: &[f32], out: &mut [u8]) -> Result<(), QuantError> {
    check(ty, "quantize", values.len(), out.len())?;
    match ty {
        GgmlType::F32 => float::f32_to_bytes(values, out),
        GgmlType::F16 => float::f32_to_f16(values, out),
        GgmlType::BF16 => float::f32_to_bf16(values, out),
        GgmlType::Q8_0 => q8_0::quantize_row(values, out),
        GgmlType::Q4_0 => q4_0::quantize_row(values, out),
        GgmlType::Q4_1 => q4_1::quantize_row(values, out),
        GgmlType::Q5_0 => q5_0::quantize_row(values, out),
        GgmlType::Q5_1 => q5_1::quantize_row(values, out),
        GgmlType::Q2_K => q2_k::quantize_row(values, out),
        GgmlType::Q3_K => q3_k::quantize_row(values, out),
        GgmlType::Q4_K => q4_k::quantize_row(values, out),
        GgmlType::Q5_K => q5_k::quantize_row(values, out),
        GgmlType::Q6_K => q6_k::quantize_row(values, out),
        GgmlType::Q8_K => q8_k::quantize_row(values, out),
        _ => return Err(QuantError::Unsupported { ty, op: "quantize" }),
    }
    Ok(())
}

/// Is `ty` implemented, and do `n_elements` values fill exactly `n_bytes` bytes?
/// (Checked up front so that an unsupported type is reported before a size problem.)
fn check(
    ty: GgmlType,
    op: &'static str,
    n_elements: usize,
    n_bytes: usize,
) -> Result<(), QuantError> {
    if !ty.is_supported() {
        return Err(QuantError::Unsupported { ty, op });
    }
    let expected = ty.n_bytes(n_elements)?;
    if expected != n_bytes {
        return Err(QuantError::SizeMismatch {
            ty,
            n_elements,
            expected,
            got: n_bytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sizes_match_ggml() {
        for ty in GgmlType::ALL {
            assert_eq!(GgmlType::from_u32(ty as u32), Some(ty));
        }
        for removed in [4, 5, 31, 32, 33, 36, 37, 38, 43, 1000] {
            assert_eq!(GgmlType::from_u32(removed), None);
        }
        assert_eq!(
            (GgmlType::Q4_1.block_size(), GgmlType::Q4_1.type_size()),
            (32, 20)
        );
        assert_eq!(
            (GgmlType::Q6_K.block_size(), GgmlType::Q6_K.type_size()),
            (256, 210)
        );
        assert_eq!(GgmlType::Q8_0.to_string(), "q8_0");
    }

    #[test]
    fn unsupported_and_size_errors() {
        let err = dequantize(GgmlType::IQ2_XXS, &[0; 66], 256).unwrap_err();
        assert_eq!(
            err,
            QuantError::Unsupported {
                ty: GgmlType::IQ2_XXS,
                op: "dequantize"
            }
        );
        assert!(err.to_string().contains("iq2_xxs"), "{err}");

        let err = dequantize(GgmlType::Q4_1, &[0; 20], 31).unwrap_err();
        assert!(matches!(
            err,
            QuantError::PartialBlock { block_size: 32, .. }
        ));

        let err = dequantize(GgmlType::Q4_1, &[0; 19], 32).unwrap_err();
        assert!(matches!(
            err,
            QuantError::SizeMismatch {
                expected: 20,
                got: 19,
                ..
            }
        ));

        // A huge element count is refused before anything is allocated.
        let err = dequantize(GgmlType::F32, &[0; 4], usize::MAX / 2).unwrap_err();
        assert!(matches!(
            err,
            QuantError::SizeMismatch { .. } | QuantError::TooLarge { .. }
        ));

        let err = quantize(GgmlType::IQ4_NL, &[0.0; 32]).unwrap_err();
        assert!(matches!(
            err,
            QuantError::Unsupported { op: "quantize", .. }
        ));
    }

    #[test]
    fn quantize_then_dequantize_is_close() {
        let x: Vec<f32> = (0..64)
            .map(|i| ((i * 37 % 64) as f32 - 31.5) / 8.0)
            .collect();
        let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        for (ty, tol) in [
            (GgmlType::F32, 0.0),
            (GgmlType::F16, 1e-3),
            (GgmlType::BF16, 2e-2),
            (GgmlType::Q8_0, amax / 127.0),
            (GgmlType::Q4_0, amax / 8.0),
            (GgmlType::Q4_1, amax * 2.0 / 15.0),
        ] {
            let bytes = quantize(ty, &x).unwrap();
            assert_eq!(bytes.len(), ty.n_bytes(64).unwrap());
            let y = dequantize(ty, &bytes, 64).unwrap();
            for (a, b) in x.iter().zip(&y) {
                assert!((a - b).abs() <= tol, "{ty}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn every_supported_type_round_trips_with_shrinking_error() {
        // A smooth, sign-changing signal of 512 values (two super-blocks).
        let x: Vec<f32> = (0..512)
            .map(|i| ((i as f32) * 0.37).sin() * (1.0 + (i % 7) as f32))
            .collect();
        let rms = (x.iter().map(|v| v * v).sum::<f32>() / 512.0).sqrt();
        // Relative RMS error bounds, loose: each format must at least be in its league.
        for (ty, bound) in [
            (GgmlType::Q2_K, 0.5),
            (GgmlType::Q3_K, 0.25),
            (GgmlType::Q4_0, 0.15),
            (GgmlType::Q4_1, 0.15),
            (GgmlType::Q4_K, 0.1),
            (GgmlType::Q5_0, 0.08),
            (GgmlType::Q5_1, 0.08),
            (GgmlType::Q5_K, 0.05),
            (GgmlType::Q6_K, 0.03),
            (GgmlType::Q8_0, 0.01),
            (GgmlType::Q8_K, 0.01),
        ] {
            let bytes = quantize(ty, &x).unwrap();
            assert_eq!(bytes.len(), ty.n_bytes(512).unwrap());
            let y = dequantize(ty, &bytes, 512).unwrap();
            let err = (x
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                / 512.0)
                .sqrt();
            assert!(err / rms < bound, "{ty}: relative rms error {}", err / rms);
        }
    }
}
