//! The reader and dequantizers on the real default model, against gguf-py.
//! Goldens: tests/golden/quant/{model_facts,dequant}.json from
//! scripts/golden_quant.py (which records the gguf and numpy versions).

use std::path::PathBuf;
use std::sync::OnceLock;

use locallm_quant::{GgufFile, MetaValue};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn golden(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/quant")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The model is opened once and shared by the tests of this file.
fn model() -> &'static GgufFile {
    static MODEL: OnceLock<GgufFile> = OnceLock::new();
    MODEL.get_or_init(|| {
        let path = locallm_models::default_model().expect("default model (fetched on first use)");
        GgufFile::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn f32_le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Our value as JSON, the way gguf-py's `contents()` lands in the golden.
fn to_json(v: &MetaValue) -> Value {
    match v {
        MetaValue::U8(x) => json!(x),
        MetaValue::I8(x) => json!(x),
        MetaValue::U16(x) => json!(x),
        MetaValue::I16(x) => json!(x),
        MetaValue::U32(x) => json!(x),
        MetaValue::I32(x) => json!(x),
        MetaValue::F32(x) => json!(*x as f64),
        MetaValue::Bool(x) => json!(x),
        MetaValue::String(x) => json!(x),
        MetaValue::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        MetaValue::U64(x) => json!(x),
        MetaValue::I64(x) => json!(x),
        MetaValue::F64(x) => json!(x),
    }
}

/// The GGUF encoding of one array element (strings: u64 length + bytes).
fn gguf_element_bytes(v: &MetaValue) -> Vec<u8> {
    match v {
        MetaValue::U8(x) => x.to_le_bytes().to_vec(),
        MetaValue::I8(x) => x.to_le_bytes().to_vec(),
        MetaValue::U16(x) => x.to_le_bytes().to_vec(),
        MetaValue::I16(x) => x.to_le_bytes().to_vec(),
        MetaValue::U32(x) => x.to_le_bytes().to_vec(),
        MetaValue::I32(x) => x.to_le_bytes().to_vec(),
        MetaValue::F32(x) => x.to_le_bytes().to_vec(),
        MetaValue::Bool(x) => vec![*x as u8],
        MetaValue::String(s) => [&(s.len() as u64).to_le_bytes()[..], s.as_bytes()].concat(),
        MetaValue::U64(x) => x.to_le_bytes().to_vec(),
        MetaValue::I64(x) => x.to_le_bytes().to_vec(),
        MetaValue::F64(x) => x.to_le_bytes().to_vec(),
        MetaValue::Array(_) => panic!("the model has no nested arrays"),
    }
}

#[test]
fn header_facts_match_gguf_py() {
    let (f, g) = (model(), golden("model_facts.json"));
    assert_eq!(f.version as u64, g["version"].as_u64().unwrap());
    assert_eq!(f.tensors.len() as u64, g["tensor_count"].as_u64().unwrap());
    assert_eq!(
        f.metadata.entries.len() as u64,
        g["kv_count"].as_u64().unwrap()
    );
    assert_eq!(f.alignment, g["alignment"].as_u64().unwrap());
    assert_eq!(f.data_offset, g["data_offset"].as_u64().unwrap());
    assert_eq!(
        f.metadata.architecture(),
        g["general.architecture"].as_str()
    );
    assert_eq!(
        f.metadata.get_u64("llama.block_count"),
        g["llama.block_count"].as_u64()
    );
}

#[test]
fn every_metadata_value_matches_gguf_py() {
    let (f, g) = (model(), golden("model_facts.json"));
    let kv = g["kv"].as_object().unwrap();
    assert_eq!(
        f.metadata.entries.keys().collect::<Vec<_>>(),
        kv.keys().collect::<Vec<_>>()
    );
    for (key, fact) in kv {
        let value = f.metadata.get(key).unwrap();
        match value {
            MetaValue::Array(items) => {
                let ty = format!("array[{}]", items[0].type_name());
                assert_eq!(fact["type"], json!(ty), "{key}");
                assert_eq!(items.len() as u64, fact["len"].as_u64().unwrap(), "{key}");
                let head: Vec<_> = items.iter().take(8).map(to_json).collect();
                assert_eq!(Value::Array(head), fact["head"], "{key}");
                let encoded: Vec<u8> = items.iter().flat_map(gguf_element_bytes).collect();
                assert_eq!(
                    json!(sha256_hex(&encoded)),
                    fact["sha256_gguf_elements"],
                    "{key}"
                );
            }
            _ => {
                assert_eq!(fact["type"], json!(value.type_name()), "{key}");
                assert_eq!(to_json(value), fact["value"], "{key}");
            }
        }
    }
}

#[test]
fn tensor_directory_matches_gguf_py() {
    let (f, g) = (model(), golden("model_facts.json"));
    let tensors = g["tensors"].as_array().unwrap();
    assert_eq!(f.tensors.len(), tensors.len());
    for (t, e) in f.tensors.iter().zip(tensors) {
        assert_eq!(json!(t.name), e["name"]);
        assert_eq!(json!(format!("{:?}", t.ggml_type)), e["type"], "{}", t.name);
        assert_eq!(json!(t.ggml_type as u32), e["type_id"], "{}", t.name);
        assert_eq!(json!(t.shape), e["shape"], "{}", t.name);
        assert_eq!(json!(t.n_elements()), e["n_elements"], "{}", t.name);
        assert_eq!(json!(t.n_bytes()), e["n_bytes"], "{}", t.name);
        assert_eq!(
            json!(f.data_offset + t.offset),
            e["file_offset"],
            "{}",
            t.name
        );
    }
}

#[test]
fn dequantized_tensors_are_bit_identical_to_gguf_py() {
    let (f, g) = (model(), golden("dequant.json"));
    for e in g["tensors"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        let t = f.tensor(name).unwrap_or_else(|| panic!("no tensor {name}"));
        assert_eq!(json!(format!("{:?}", t.ggml_type)), e["type"], "{name}");
        assert_eq!(json!(t.shape_row_major()), e["row_major_shape"], "{name}");

        let values = f.dequantize(t).unwrap();
        assert_eq!(json!(values.len()), e["n_elements"], "{name}");
        let first: Vec<f64> = values[..64.min(values.len())]
            .iter()
            .map(|&v| v as f64)
            .collect();
        assert_eq!(json!(first), e["first_64"], "{name}");
        assert_eq!(
            json!(sha256_hex(&f32_le_bytes(&values))),
            e["sha256_f32_le"],
            "{name}"
        );

        // numpy sums pairwise, we sum in order: equal up to f64 rounding.
        let sum: f64 = values.iter().map(|&v| v as f64).sum();
        let sum_sq: f64 = values.iter().map(|&v| (v as f64) * (v as f64)).sum();
        let sum_abs: f64 = values.iter().map(|&v| (v as f64).abs()).sum();
        assert!(
            (sum - e["sum_f64"].as_f64().unwrap()).abs() <= 1e-9 * sum_abs,
            "{name}"
        );
        assert!(
            (sum_sq - e["sum_sq_f64"].as_f64().unwrap()).abs() <= 1e-9 * sum_sq,
            "{name}"
        );

        // The allocation-free variant writes the same values.
        let mut out = vec![f32::NAN; values.len()];
        f.dequantize_into(t, &mut out).unwrap();
        assert!(out == values, "{name}: dequantize_into differs");
    }
}
