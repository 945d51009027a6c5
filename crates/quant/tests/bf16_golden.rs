//! BF16 and F16 conversions against ml_dtypes, numpy and gguf-py.
//! Golden: tests/golden/bf16/conversions.json from scripts/golden_bf16.py
//! (which records the tools' versions and says what each field holds).
//!
//! Tolerance: bit-identical. A rounding mode is right or wrong; there is no
//! "close". NaNs: ml_dtypes returns the canonical quiet NaN whatever the
//! payload, ggml and gguf-py keep the payload's top bits and set the quiet
//! bit. A GGUF file must hold what llama.cpp writes, so NaNs are compared
//! bit for bit with gguf-py, and with ml_dtypes only for sign and NaN-ness.

use locallm_quant::blocks::float::{bf16_to_f32, f16_to_f32, f32_to_bf16};
use locallm_tests::golden_json;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn golden() -> Value {
    golden_json("bf16/conversions.json")
}

fn hex_u32(v: &Value) -> u32 {
    u32::from_str_radix(v.as_str().unwrap(), 16).unwrap()
}

fn hex_u16(v: &Value) -> u16 {
    u16::from_str_radix(v.as_str().unwrap(), 16).unwrap()
}

fn narrow(values: &[f32]) -> Vec<u16> {
    let mut bytes = vec![0u8; values.len() * 2];
    f32_to_bf16(values, &mut bytes);
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn le_u16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn edge_values_round_like_ml_dtypes() {
    let g = golden();
    let edges = g["narrow"].as_array().unwrap();
    assert!(edges.len() >= 20, "golden lost its edge cases");
    for e in edges {
        let name = e["name"].as_str().unwrap();
        let x = f32::from_bits(hex_u32(&e["f32_bits"]));
        let ours = narrow(&[x])[0];
        let ml = hex_u16(&e["bf16_bits"]);
        if x.is_nan() {
            let gguf = hex_u16(&e["bf16_bits_gguf"]);
            assert_eq!(ours, gguf, "{name}: ours {ours:04x}, gguf-py {gguf:04x}");
            let widened = f32::from_bits((ours as u32) << 16);
            assert!(widened.is_nan(), "{name}: NaN became {widened}");
            assert_eq!(ours >> 15, ml >> 15, "{name}: sign differs from ml_dtypes");
        } else {
            assert_eq!(ours, ml, "{name}: ours {ours:04x}, ml_dtypes {ml:04x}");
        }
    }
}

#[test]
fn every_bf16_prefix_with_each_low_half_rounds_like_ml_dtypes() {
    let g = golden();
    let sweep = &g["narrow_sweep"];
    let lows: Vec<u32> = sweep["low_halves"]
        .as_array()
        .unwrap()
        .iter()
        .map(hex_u32)
        .collect();
    let inputs: Vec<f32> = (0u32..1 << 16)
        .flat_map(|hi| lows.iter().map(move |lo| f32::from_bits(hi << 16 | lo)))
        .collect();
    assert_eq!(inputs.len() as u64, sweep["n_inputs"].as_u64().unwrap());
    let ours = narrow(&inputs);
    let (mut finite, mut nan) = (Vec::new(), Vec::new());
    for (x, b) in inputs.iter().zip(&ours) {
        if x.is_nan() {
            nan.push(*b)
        } else {
            finite.push(*b)
        }
    }
    assert_eq!(nan.len() as u64, sweep["n_nan_inputs"].as_u64().unwrap());
    assert_eq!(
        sha256_hex(&le_u16s(&finite)),
        sweep["non_nan_sha256_ml_dtypes"].as_str().unwrap(),
        "f32 -> bf16 rounding differs from ml_dtypes on some non-NaN input"
    );
    assert_eq!(
        sha256_hex(&le_u16s(&nan)),
        sweep["nan_sha256_gguf"].as_str().unwrap(),
        "f32 -> bf16 of some NaN differs from gguf-py"
    );
}

/// f32 bits of every 16-bit pattern widened by `widen`, split into
/// (f16 signalling NaNs, the rest) by `is_f16_snan`.
fn widen_all(widen: fn(&[u8], &mut [f32]), split_f16_snan: bool) -> (Vec<u8>, Vec<u8>) {
    let bytes = le_u16s(&(0..=u16::MAX).collect::<Vec<_>>());
    let mut out = vec![0f32; 1 << 16];
    widen(&bytes, &mut out);
    let (mut snan, mut rest) = (Vec::new(), Vec::new());
    for (h, v) in (0..=u16::MAX).zip(&out) {
        let le = v.to_bits().to_le_bytes();
        // exponent all ones, quiet bit clear, payload not zero
        let is_snan = h & 0x7c00 == 0x7c00 && h & 0x0200 == 0 && h & 0x03ff != 0;
        if split_f16_snan && is_snan {
            snan.extend(le);
        } else {
            rest.extend(le);
        }
    }
    (snan, rest)
}

#[test]
fn all_bf16_patterns_widen_like_ml_dtypes() {
    let (_, all) = widen_all(bf16_to_f32, false);
    assert_eq!(
        sha256_hex(&all),
        golden()["widen"]["bf16_all_65536_to_f32_sha256_ml_dtypes"]
            .as_str()
            .unwrap()
    );
}

/// numpy keeps an f16 signalling NaN signalling when it widens it; the
/// `half` crate (like x86's F16C instruction and ggml) sets the quiet bit.
/// The golden holds numpy's bits with that bit set for those 1,022 patterns.
#[test]
fn all_f16_patterns_widen_like_numpy() {
    let w = &golden()["widen"];
    let (snan, rest) = widen_all(f16_to_f32, true);
    assert_eq!(
        snan.len() as u64 / 4,
        w["f16_signalling_nan_count"].as_u64().unwrap()
    );
    assert_eq!(
        sha256_hex(&rest),
        w["f16_to_f32_except_signalling_nan_sha256_numpy"]
            .as_str()
            .unwrap()
    );
    assert_eq!(
        sha256_hex(&snan),
        w["f16_signalling_nan_to_f32_sha256_numpy_quiet_bit_set"]
            .as_str()
            .unwrap()
    );
}
