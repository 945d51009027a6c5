//! Quantizers and dequantizers on synthetic data, against gguf-py (which
//! scripts/golden_quant.py also checked against ggml's C `quantize_row_*_ref`),
//! and the .npy writer against files written by `numpy.save`.
//! Goldens: tests/golden/quant/{synthetic.json, synthetic_input.npy, npy_*.npy}.

mod common;
use common::*;

use locallm_quant::{GgmlType, blocks, npy};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn synthetic() -> (Value, Vec<f32>) {
    let g: Value = serde_json::from_slice(&read("synthetic.json")).unwrap();
    let (shape, x) = npy::read_f32(&read(g["input_file"].as_str().unwrap())).unwrap();
    assert_eq!(shape, vec![g["n_values"].as_u64().unwrap() as usize]);
    assert_eq!(
        hex(&Sha256::digest(f32_le_bytes(&x))),
        g["input_sha256_f32_le"].as_str().unwrap()
    );
    (g, x)
}

const TYPES: [GgmlType; 3] = [GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1];

#[test]
fn quantize_matches_gguf_py_byte_for_byte() {
    let (g, x) = synthetic();
    for ty in TYPES {
        let e = &g["types"][format!("{ty:?}")];
        assert_eq!(e["block_size"].as_u64(), Some(ty.block_size() as u64));
        assert_eq!(e["type_size"].as_u64(), Some(ty.type_size() as u64));
        let ours = blocks::quantize(ty, &x).unwrap();
        let theirs = unhex(e["blocks_hex"].as_str().unwrap());
        for (i, (a, b)) in ours
            .chunks(ty.type_size())
            .zip(theirs.chunks(ty.type_size()))
            .enumerate()
        {
            assert_eq!(hex(a), hex(b), "{ty} block {i}");
        }
        assert_eq!(ours.len(), theirs.len(), "{ty}");
    }
}

#[test]
fn dequantize_matches_gguf_py_bit_for_bit() {
    let (g, x) = synthetic();
    for ty in TYPES {
        let e = &g["types"][format!("{ty:?}")];
        let bytes = unhex(e["blocks_hex"].as_str().unwrap());
        let values = blocks::dequantize(ty, &bytes, x.len()).unwrap();
        assert_eq!(
            hex(&f32_le_bytes(&values)),
            e["dequant_f32_hex"].as_str().unwrap(),
            "{ty}"
        );

        let mut out = vec![f32::NAN; x.len()];
        blocks::dequantize_into(ty, &bytes, &mut out).unwrap();
        assert_eq!(
            hex(&Sha256::digest(f32_le_bytes(&out))),
            e["dequant_sha256_f32_le"].as_str().unwrap()
        );
    }
}

/// The golden records whether gguf-py agreed with ggml's C reference; since we
/// match gguf-py exactly, a disagreement there would make us differ from ggml.
#[test]
fn golden_was_cross_checked_against_ggml_c() {
    let (g, _) = synthetic();
    assert_eq!(
        g["ggml_c_reference"]["checked"],
        Value::Bool(true),
        "regenerate with --ggml-src"
    );
    for ty in TYPES {
        let e = &g["types"][format!("{ty:?}")];
        assert_eq!(e["ggml_c_quantize_identical"], Value::Bool(true), "{ty}");
        assert_eq!(e["ggml_c_dequantize_identical"], Value::Bool(true), "{ty}");
    }
}

#[test]
fn npy_files_are_byte_identical_to_numpy_save() {
    let arange: Vec<f32> = (0..12).map(|i| i as f32).collect();
    // numpy: (np.arange(12, dtype=float32) - 5.5).reshape(2, 1, 3, 2) / 3, all in f32.
    let centred: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) / 3.0).collect();
    let cases: [(&str, &[usize], &[f32]); 3] = [
        ("npy_arange_3x4.npy", &[3, 4], &arange),
        ("npy_scalar.npy", &[], &[1.5]),
        ("npy_2x1x3x2.npy", &[2, 1, 3, 2], &centred),
    ];
    for (file, shape, data) in cases {
        let mut ours = Vec::new();
        npy::write_f32(&mut ours, shape, data).unwrap();
        let theirs = read(file);
        assert_eq!(ours, theirs, "{file}");
        assert_eq!(
            npy::read_f32(&theirs).unwrap(),
            (shape.to_vec(), data.to_vec()),
            "{file}"
        );
    }
}

#[test]
fn save_f32_writes_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("arange.npy");
    let arange: Vec<f32> = (0..12).map(|i| i as f32).collect();
    npy::save_f32(&path, &[3, 4], &arange).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), read("npy_arange_3x4.npy"));
}
