//! The log-probabilities a generation reports are the ones perplexity
//! scores: for every generated token, the top-5 of the cached, one-token-
//! at-a-time decode equal the top-5 of one uncached pass over the whole
//! sequence (`next_token_log_probs`, the perplexity code path). And they
//! are llama.cpp's: its server's `n_probs` (pre-sampling, its default) on
//! the same f32 weights (tests/golden/generate/greedy_f32.json, written by
//! scripts/golden_llamacpp.sh).

use std::sync::Arc;

use locallm_infer::{GenerateOptions, SamplerConfig, Session, next_token_log_probs};
use locallm_model::{LoadOptions, default_device};

/// The two paths sum in a different order (a KV cache and one token at a
/// time against one pass over the sequence): measured, the log-probabilities
/// differ by up to 2.5e-4; 1e-3 leaves room for other kernels and still
/// catches any other distribution (a temperature of 0.9 moves them by > 0.01).
const TOL: f32 = 1e-3;

fn check(sampler: SamplerConfig) {
    let path = locallm_models::default_model().unwrap();
    let gguf = Arc::new(locallm_quant::GgufFile::open(path).unwrap());
    let device = default_device().unwrap();
    let model =
        locallm_model::load_llama_for_inference(&gguf, &device, &LoadOptions::default()).unwrap();
    // "The capital of France is"
    let prompt = [504, 3575, 282, 4649, 314];
    let mut session = Session::new(&model, 64, &device);
    let opts = GenerateOptions {
        max_tokens: 8,
        sampler,
        stop_tokens: vec![],
    };
    let mut generation = session.generate(&prompt, opts).unwrap().with_logprobs(5);
    let mut reported = Vec::new();
    while let Some(token) = generation.next() {
        let lp = generation.last_logprobs().unwrap().clone();
        assert_eq!(lp.id, token);
        reported.push(lp);
    }
    assert_eq!(reported.len(), 8);
    let mut tokens = prompt.to_vec();
    tokens.extend(reported.iter().map(|lp| lp.id));
    let rows = next_token_log_probs(&model, &tokens, None, &device)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let vocab = rows.len() / tokens.len();
    for (i, lp) in reported.iter().enumerate() {
        // row j predicts token j + 1
        let j = prompt.len() - 1 + i;
        let row = &rows[j * vocab..(j + 1) * vocab];
        let mut order: Vec<u32> = (0..vocab as u32).collect();
        order.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]).then(a.cmp(&b)));
        let ids: Vec<u32> = lp.top.iter().map(|t| t.0).collect();
        assert_eq!(ids, order[..5], "token {i}");
        for &(id, logprob) in &lp.top {
            assert!(
                (logprob - row[id as usize]).abs() < TOL,
                "token {i}, id {id}"
            );
        }
        assert!((lp.logprob - row[lp.id as usize]).abs() < TOL, "token {i}");
    }
}

#[test]
fn greedy_logprobs_are_the_perplexity_path_s() {
    check(SamplerConfig::greedy());
}

/// Sampling picks other tokens, but the numbers are still the model's,
/// before temperature, top-k and the bias.
#[test]
fn sampled_logprobs_are_the_model_s_not_the_sampler_s() {
    check(SamplerConfig {
        temperature: 0.9,
        top_k: 20,
        logit_bias: vec![(28, 3.0)],
        seed: 5,
        ..SamplerConfig::default()
    });
}

#[test]
fn greedy_logprobs_are_llama_cpp_s_n_probs() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/generate/greedy_f32.json"
    );
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let gguf = locallm_quant::GgufFile::open(locallm_models::default_model().unwrap()).unwrap();
    let device = default_device().unwrap();
    let model = locallm_model::load_llama(&gguf, &device).unwrap(); // f32, as the golden
    let ids = |v: &serde_json::Value| -> Vec<u32> {
        (v.as_array().unwrap().iter())
            .map(|x| x.as_u64().unwrap() as u32)
            .collect()
    };
    let mut worst = 0.0f32;
    for case in golden["cases"].as_array().unwrap() {
        let expected = ids(&case["ids"]);
        let opts = GenerateOptions {
            max_tokens: expected.len(),
            sampler: SamplerConfig::greedy(),
            stop_tokens: vec![],
        };
        let mut session = Session::new(&model, 256, &device);
        let prompt = ids(&case["prompt_ids"]);
        let mut generation = session.generate(&prompt, opts).unwrap().with_logprobs(10);
        for (step, top) in case["top"].as_array().unwrap().iter().enumerate() {
            assert_eq!(
                generation.next(),
                Some(expected[step]),
                "{}",
                case["prompt"]
            );
            let ours = generation.last_logprobs().unwrap();
            for (rank, theirs) in top.as_array().unwrap().iter().enumerate() {
                let id = theirs["id"].as_u64().unwrap() as u32;
                let lp = theirs["logprob"].as_f64().unwrap() as f32;
                // near-ties may order differently (so our top 10 is searched);
                // the numbers must agree
                let mine = ours.top.iter().find(|t| t.0 == id);
                let mine = mine.unwrap_or_else(|| {
                    panic!("{}: step {step}: {id} not in our top 10", case["prompt"])
                });
                worst = worst.max((mine.1 - lp).abs());
                if rank == 0 {
                    assert_eq!(ours.top[0].0, id, "{}: step {step}", case["prompt"]);
                }
            }
        }
    }
    // the same tolerance as the forward-pass check (llamacpp_golden.rs)
    assert!(
        worst < 1e-3,
        "ours and llama.cpp's logprobs differ by {worst}"
    );
}
