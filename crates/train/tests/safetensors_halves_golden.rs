//! F16 and BF16 tensors in a safetensors file (PEFT may save either) read
//! as f32 exactly as ml_dtypes and numpy widen them.
//! Golden: tests/golden/bf16/conversions.json from scripts/golden_bf16.py;
//! the tolerance (bit-identical) and the f16 signalling-NaN note are
//! explained in crates/quant/tests/bf16_golden.rs.

use locallm_tests::golden_json;
use locallm_train::checkpoint::read_safetensors;
use safetensors::tensor::{Dtype, TensorView};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn golden() -> Value {
    golden_json("bf16/conversions.json")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every 16-bit pattern as one `dtype` tensor in a safetensors file, read back.
fn read_all_patterns(dtype: Dtype) -> Vec<f32> {
    let bytes: Vec<u8> = (0..=u16::MAX).flat_map(|h| h.to_le_bytes()).collect();
    let view = TensorView::new(dtype, vec![1 << 16], &bytes).unwrap();
    let file = safetensors::serialize([("t", view)], None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("halves.safetensors");
    std::fs::write(&path, file).unwrap();
    let (tensors, _) = read_safetensors(&path).unwrap();
    tensors["t"].1.clone()
}

fn le_bits(values: impl Iterator<Item = f32>) -> Vec<u8> {
    values.flat_map(|v| v.to_bits().to_le_bytes()).collect()
}

#[test]
fn bf16_tensors_widen_like_ml_dtypes() {
    let got = read_all_patterns(Dtype::BF16);
    assert_eq!(
        sha256_hex(&le_bits(got.into_iter())),
        golden()["widen"]["bf16_all_65536_to_f32_sha256_ml_dtypes"]
            .as_str()
            .unwrap()
    );
}

#[test]
fn f16_tensors_widen_like_numpy() {
    let w = &golden()["widen"];
    let got = read_all_patterns(Dtype::F16);
    let is_snan = |h: u16| h & 0x7c00 == 0x7c00 && h & 0x0200 == 0 && h & 0x03ff != 0;
    let pick = |snan: bool| {
        le_bits(
            (0..=u16::MAX)
                .zip(&got)
                .filter(move |(h, _)| is_snan(*h) == snan)
                .map(|(_, v)| *v),
        )
    };
    assert_eq!(
        sha256_hex(&pick(false)),
        w["f16_to_f32_except_signalling_nan_sha256_numpy"]
            .as_str()
            .unwrap()
    );
    assert_eq!(
        sha256_hex(&pick(true)),
        w["f16_signalling_nan_to_f32_sha256_numpy_quiet_bit_set"]
            .as_str()
            .unwrap()
    );
}
