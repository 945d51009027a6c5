//! Per-tensor type choice of each quantization mix against the real
//! `llama-quantize` run on the default model (goldens:
//! tests/golden/quant/mixes/TYPE.json from scripts/golden_quant_mixes.py).

use std::path::PathBuf;

use locallm_quant::kernels::has_fast_kernel;
use locallm_quant::quantize_model::mix_model;
use locallm_quant::{GgufFile, MixModel, QuantMix, mix};
use serde_json::Value;

fn golden(mix: QuantMix) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/quant/mixes")
        .join(format!("{mix}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_tensor_gets_llama_cpps_type_in_llama_cpps_order() {
    let path = locallm_models::default_model().expect("default model (fetched on first use)");
    let model = GgufFile::open(&path).unwrap();
    let meta = &model.metadata;
    let shape = MixModel {
        n_layer: meta.get_u64("llama.block_count").unwrap() as usize,
        n_gqa: (meta.get_u64("llama.attention.head_count").unwrap()
            / meta.get_u64("llama.attention.head_count_kv").unwrap()) as usize,
    };
    let order = mix::llama_order(&model.tensors);
    for m in QuantMix::ALL {
        let g = golden(m);
        assert_eq!(g["file_type"].as_u64(), Some(m.file_type() as u64), "{m}");
        let types = mix::tensor_types(m, &model.tensors, shape);
        let theirs = g["tensors"].as_array().unwrap();
        assert_eq!(theirs.len(), order.len(), "{m}");
        for (&i, t) in order.iter().zip(theirs) {
            let ours = &model.tensors[i];
            assert_eq!(ours.name, t["name"].as_str().unwrap(), "{m}: tensor order");
            assert_eq!(
                format!("{:?}", types[i]),
                t["type"].as_str().unwrap(),
                "{m}: {}",
                ours.name
            );
        }
    }
}

/// The files a reader downloads or makes: Gemma 3 270M Q4_K_M as published,
/// and SmolLM2 and Gemma 3 in every mix of 4 bits and up. Every matrix is a
/// type with a fast kernel (K-quants where rows are whole super-blocks, the
/// 32-weight fallbacks where not: SmolLM2's 576, Gemma's 640), so the model
/// keeps it in its blocks; none falls back to f32.
#[test]
fn the_usual_mixes_have_a_fast_kernel_for_every_matrix() {
    use QuantMix::*;
    let smol = locallm_models::default_model().expect("default model (fetched on first use)");
    let gemma = locallm_models::ensure(&locallm_models::GEMMA3_270M_Q4_K_M).expect("Gemma 3 270M");
    let (smol, gemma) = (
        GgufFile::open(&smol).unwrap(),
        GgufFile::open(&gemma).unwrap(),
    );
    let matrices = |m: &GgufFile| m.tensors.iter().filter(|t| t.shape.len() == 2).count();
    assert_eq!((matrices(&smol), matrices(&gemma)), (211, 127));
    for t in gemma.tensors.iter().filter(|t| t.shape.len() == 2) {
        assert!(has_fast_kernel(t.ggml_type), "{}: {}", t.name, t.ggml_type);
    }
    for model in [&smol, &gemma] {
        let shape = mix_model(model).unwrap();
        for m in [
            F16, Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q5_1, Q5_0, Q4_K_M, Q4_K_S, Q4_1, Q4_0,
        ] {
            let types = mix::tensor_types(m, &model.tensors, shape);
            for (t, ty) in model.tensors.iter().zip(types) {
                if t.shape.len() == 2 {
                    assert!(has_fast_kernel(ty), "{m}: {} would be {ty}", t.name);
                }
            }
        }
    }
}
