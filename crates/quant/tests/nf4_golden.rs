//! NF4 against bitsandbytes' `quantize_4bit(quant_type="nf4")` on the CPU.
//! Golden: tests/golden/nf4/quantize_4bit.json from scripts/golden_nf4.py
//! (which records the bitsandbytes and torch versions).

use std::path::PathBuf;

use locallm_quant::nf4::{Absmax, NF4_LEVELS, quantize_nf4, quantize_nf4_with};
use serde_json::Value;

fn golden() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/nf4/quantize_4bit.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn f32s(v: &Value) -> Vec<f32> {
    // JSON holds the f32 values as exact f64s.
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn levels_match_bitsandbytes() {
    assert_eq!(f32s(&golden()["levels"]), NF4_LEVELS);
}

#[test]
fn codes_absmax_and_dequantized_values_match_bitsandbytes() {
    let g = golden();
    let cases = g["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let x = f32s(&case["input"]);
        let t = quantize_nf4_with(&x, false);
        assert_eq!(
            t.codes,
            hex(case["codes_hex"].as_str().unwrap()),
            "{name}: codes"
        );
        let Absmax::F32(absmax) = &t.absmax else {
            panic!("{name}: plain absmax expected");
        };
        assert_eq!(absmax, &f32s(&case["absmax"]), "{name}: absmax");
        let deq: Vec<u8> = t
            .dequantize()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            deq,
            hex(case["dequant_f32_hex"].as_str().unwrap()),
            "{name}: dequantized"
        );

        // Double quantization: the same codes, and the same mean subtracted
        // (bitsandbytes averages in f32, we in f64: equal to a few ulps).
        let d = quantize_nf4(&x);
        assert_eq!(d.codes, t.codes, "{name}: codes with double quantization");
        let Absmax::Double { offset, .. } = d.absmax else {
            panic!("{name}: double quantization expected");
        };
        let want = case["double_quant_offset"].as_f64().unwrap();
        assert!(
            (offset as f64 - want).abs() <= 1e-6 * want.abs(),
            "{name}: offset {offset} vs {want}"
        );
    }
}
