//! The log-probabilities a generation reports are the ones perplexity
//! scores: for every generated token, the top-5 of the cached, one-token-
//! at-a-time decode equal the top-5 of one uncached pass over the whole
//! sequence (`next_token_log_probs`, the perplexity code path).

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
