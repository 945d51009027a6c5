//! The real SmolLM2-135M file through this crate alone: config from metadata,
//! weights loaded, and the next-token distribution after a prompt equal to
//! llama.cpp's on the same (F32-dequantized) weights. Runs on whichever
//! backend the build enables (CI runs it on flex and on ndarray).

use std::path::PathBuf;

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use locallm_model::{LlamaConfig, NoCache, default_device, load_llama};

#[test]
fn config_and_first_token_distribution_match_llamacpp() {
    let gguf = locallm_quant::GgufFile::open(locallm_models::default_model().unwrap()).unwrap();
    let config = LlamaConfig::from_metadata(&gguf.metadata).unwrap();
    assert_eq!(
        (
            config.n_layers,
            config.d_model,
            config.n_heads,
            config.n_kv_heads,
            config.ffn_dim,
            config.vocab_size
        ),
        (30, 576, 9, 3, 1536, 49152)
    );
    assert_eq!(config.rope_base, 100_000.0);

    let device = default_device().unwrap();
    let model = load_llama(&gguf, &device).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/generate/greedy_f32.json");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in golden["cases"].as_array().unwrap() {
        let prompt: Vec<i64> = case["prompt_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let n = prompt.len();
        let input = Tensor::<2, Int>::from_data(TensorData::new(prompt, [1, n]), &device);
        let logits = model.forward_last(input, 0, &mut NoCache); // [1, vocab]
        let lp = log_softmax(logits, 1)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for cand in case["top"][0].as_array().unwrap() {
            let id = cand["id"].as_u64().unwrap() as usize;
            let theirs = cand["logprob"].as_f64().unwrap();
            assert!(
                (lp[id] as f64 - theirs).abs() < 1e-3,
                "{}: token {id}: {} vs {theirs}",
                case["prompt"],
                lp[id]
            );
        }
    }
}
