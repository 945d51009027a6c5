//! Every implemented block format against the references, on fixed inputs
//! (random normal, student-t, zeros, constant, tiny, huge, all-positive,
//! sparse; 512 values each): our quantizer must give the bytes of ggml's C
//! `quantize_row_*_ref`, and our dequantizer the bits of gguf-py's
//! `gguf.quants.dequantize` (ggml's `dequantize_row_q8_K` for Q8_K, which
//! gguf-py lacks). Golden: tests/golden/quant/all_types.json, written by
//! scripts/golden_quant.py.

mod common;
use common::*;

use locallm_quant::{GgmlType, blocks, npy};
use serde_json::Value;
use sha2::{Digest, Sha256};

const TYPES: [GgmlType; 11] = {
    use GgmlType::*;
    [
        Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
    ]
};

/// The golden and its input, split into named cases.
fn golden() -> (Value, Vec<(String, Vec<f32>)>) {
    let g: Value = serde_json::from_slice(&read("all_types.json")).unwrap();
    let (_, x) = npy::read_f32(&read(g["input_file"].as_str().unwrap())).unwrap();
    assert_eq!(
        hex(&Sha256::digest(f32_le_bytes(&x))),
        g["input_sha256_f32_le"].as_str().unwrap()
    );
    let n = g["case_len"].as_u64().unwrap() as usize;
    let names = g["cases"].as_array().unwrap();
    assert_eq!(x.len(), n * names.len());
    let cases = names
        .iter()
        .zip(x.chunks(n))
        .map(|(name, x)| (name.as_str().unwrap().to_owned(), x.to_vec()))
        .collect();
    (g, cases)
}

#[test]
fn quantize_is_byte_identical_to_ggml_c() {
    let (g, cases) = golden();
    for ty in TYPES {
        let e = &g["types"][format!("{ty:?}")];
        assert_eq!(e["block_size"].as_u64(), Some(ty.block_size() as u64));
        assert_eq!(e["type_size"].as_u64(), Some(ty.type_size() as u64));
        for (case, x) in &cases {
            let ours = blocks::quantize(ty, x).unwrap();
            let theirs = unhex(e["cases"][case]["blocks_hex"].as_str().unwrap());
            assert_eq!(ours.len(), theirs.len(), "{ty} {case}");
            for (i, (a, b)) in ours
                .chunks(ty.type_size())
                .zip(theirs.chunks(ty.type_size()))
                .enumerate()
            {
                assert_eq!(hex(a), hex(b), "{ty} {case}: block {i}");
            }
        }
    }
}

#[test]
fn dequantize_is_bit_identical_to_gguf_py() {
    let (g, cases) = golden();
    for ty in TYPES {
        for (case, x) in &cases {
            let e = &g["types"][format!("{ty:?}")]["cases"][case];
            let bytes = unhex(e["blocks_hex"].as_str().unwrap());
            let values = blocks::dequantize(ty, &bytes, x.len()).unwrap();
            let first = e["dequant_first_8_f32_hex"].as_str().unwrap();
            assert_eq!(
                hex(&Sha256::digest(f32_le_bytes(&values))),
                e["dequant_sha256_f32_le"].as_str().unwrap(),
                "{ty} {case}: ours start {}, reference {first}",
                hex(&f32_le_bytes(&values[..8]))
            );
        }
    }
}

/// The script also recorded whether the references agree among themselves:
/// gguf-py's dequantizer with ggml's C one (all types but Q8_K), and gguf-py's
/// quantizer with ggml's where gguf-py has one (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0).
#[test]
fn references_agree_with_each_other() {
    let (g, cases) = golden();
    for ty in TYPES {
        for (case, _) in &cases {
            let e = &g["types"][format!("{ty:?}")]["cases"][case];
            assert_eq!(
                e["ggml_c_dequantize_identical"],
                Value::Bool(true),
                "{ty} {case}"
            );
            let py = &e["gguf_py_quantize_identical"];
            assert!(py.is_null() || *py == Value::Bool(true), "{ty} {case}");
        }
    }
}
