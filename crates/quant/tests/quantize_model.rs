//! `quantize_model` on bad input: NaN/Inf and values too large for the
//! format are errors naming the tensor, and no output file appears.
//! (Good input is checked against `llama-quantize`'s own output, byte for
//! byte, by the CLI tests.)

use locallm_quant::{
    GgmlType, GgufFile, MetaValue, QuantMix, QuantizeModelError, TensorInfo, quantize_model,
    write_gguf,
};

/// A one-layer "model" with a single 2-D F32 weight holding `values` (256 × 2).
fn model(dir: &std::path::Path, values: &[f32]) -> GgufFile {
    let metadata = vec![
        (
            "general.architecture".to_string(),
            MetaValue::String("llama".into()),
        ),
        ("llama.block_count".to_string(), MetaValue::U32(1)),
        ("llama.attention.head_count".to_string(), MetaValue::U32(1)),
    ];
    let tensors = vec![TensorInfo {
        name: "blk.0.ffn_up.weight".into(),
        shape: vec![256, 2],
        ggml_type: GgmlType::F32,
        offset: 0,
    }];
    let path = dir.join("in.gguf");
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_gguf(&path, &metadata, &tensors, |_| Ok(bytes.clone())).unwrap();
    GgufFile::open(&path).unwrap()
}

#[test]
fn good_input_quantizes_and_sets_file_type() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f32> = (0..512).map(|i| (i as f32 * 0.1).sin()).collect();
    let input = model(dir.path(), &values);
    let out = dir.path().join("out.gguf");
    let report = quantize_model(&input, &out, QuantMix::Q4_K_M, |_, _, _| {}).unwrap();
    assert_eq!(report.requantized, 0);
    let q = GgufFile::open(&out).unwrap();
    assert_eq!(q.metadata.get_u64("general.file_type"), Some(15));
    assert_eq!(q.tensors[0].ggml_type, GgmlType::Q4_K);
}

#[test]
fn non_finite_and_overflowing_values_are_refused() {
    for (bad, want_nan) in [(f32::NAN, true), (f32::INFINITY, true), (1e30, false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut values = vec![0.5f32; 512];
        values[300] = bad;
        let input = model(dir.path(), &values);
        let out = dir.path().join("out.gguf");
        let err = quantize_model(&input, &out, QuantMix::Q4_K_M, |_, _, _| {}).unwrap_err();
        match err {
            QuantizeModelError::NonFinite {
                ref tensor, index, ..
            } if want_nan => {
                assert_eq!((tensor.as_str(), index), ("blk.0.ffn_up.weight", 300));
            }
            // The whole super-block holding the 1e30 (values 256..512) is lost.
            QuantizeModelError::Overflow {
                ref tensor,
                ty,
                block_start,
                amax,
            } if !want_nan => {
                assert_eq!(
                    (tensor.as_str(), ty, block_start, amax),
                    ("blk.0.ffn_up.weight", GgmlType::Q4_K, 256, 1e30)
                );
            }
            ref other => panic!("{bad}: unexpected {other}"),
        }
        assert!(err.to_string().contains("blk.0.ffn_up.weight"), "{err}");
        assert!(!out.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "only in.gguf"
        );
    }
}
