//! Per-tensor type choice of each quantization mix against the real
//! `llama-quantize` run on the default model (goldens:
//! tests/golden/quant/mixes/TYPE.json from scripts/golden_quant_mixes.py).

use std::path::PathBuf;

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
