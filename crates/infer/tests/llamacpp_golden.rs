//! Our forward pass against llama.cpp on the same weights.
//!
//! Two golden files, both from `scripts/golden_llamacpp.sh`, hold for five raw
//! prompts the 32 tokens llama.cpp chose greedily and the log-probabilities of
//! its top five candidates at every step:
//!
//! - `greedy_f32.json`: llama.cpp on the default model dequantized to F32
//!   (gguf-py), with an F32 KV cache. It then computes in f32 throughout, as
//!   our plain path does, so the two must agree to a thousandth of a nat and
//!   produce the same greedy tokens.
//! - `greedy.json`: llama.cpp on the Q4_1 file itself. For Q4_1/Q8_0 weights
//!   llama.cpp quantizes the *activations* to 8 bits before each dot product,
//!   which moves log-probabilities by ~0.1 nat; so here we check the average
//!   difference, and top-1 agreement wherever llama.cpp was confident.

use std::path::PathBuf;

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_infer::{GenerateOptions, SamplerConfig, Session};
use locallm_model::{Llama, NoCache, default_device};
use serde_json::Value;

fn golden(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/generate")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn load() -> (Llama, Device) {
    let gguf = locallm_quant::GgufFile::open(locallm_models::default_model().unwrap()).unwrap();
    let device = default_device().unwrap();
    (locallm_model::load_llama(&gguf, &device).unwrap(), device)
}

/// The same file with its matrices left in their blocks (the fast path).
fn load_quantized(device: &Device) -> Llama {
    let path = locallm_models::default_model().unwrap();
    let gguf = std::sync::Arc::new(locallm_quant::GgufFile::open(path).unwrap());
    locallm_model::load_llama_quantized(&gguf, device, locallm_model::Kernels::Best).unwrap()
}

/// Logits of every decode step, one token at a time through a KV cache (so
/// each projection takes one row: the block kernels), for the prompt
/// followed by `continuation`: `[continuation.len() + 1][vocab]`.
fn decode_logits(
    model: &Llama,
    prompt: &[u32],
    continuation: &[u32],
    device: &Device,
) -> Vec<Vec<f32>> {
    let len = prompt.len() + continuation.len();
    let mut cache = locallm_infer::PreallocatedCache::new(&model.config, 1, len, device);
    let mut out = vec![locallm_infer::generate::last_logits(
        model, prompt, &mut cache, 0, device,
    )];
    for (i, &t) in continuation.iter().enumerate() {
        out.push(locallm_infer::generate::last_logits(
            model,
            &[t],
            &mut cache,
            prompt.len() + i,
            device,
        ));
    }
    out
}

fn log_softmax_vec(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().fold(f32::MIN, |m, &v| m.max(v)) as f64;
    let lse = max
        + logits
            .iter()
            .map(|&v| (v as f64 - max).exp())
            .sum::<f64>()
            .ln();
    logits.iter().map(|&v| v as f64 - lse).collect()
}

// ANCHOR: fast_vs_plain
/// The quantized fast path against the plain f32 path on the same file,
/// step by step along the plain path's greedy continuation. They cannot be
/// equal: the fast path rounds each activation block to 8 bits before the dot
/// products (as llama.cpp does), which moves log-probabilities by a few
/// hundredths of a nat and can flip a near tie. So: close log-probabilities,
/// and the same top token wherever the plain path leads by more than half a nat.
#[test]
fn quantized_fast_path_is_close_to_plain_path() {
    let (plain, device) = load();
    let fast = load_quantized(&device);
    let (mut sum, mut n, mut worst, mut confident) = (0.0f64, 0usize, 0.0f64, 0usize);
    for case in golden("greedy_f32.json")["cases"].as_array().unwrap() {
        let (prompt, tokens) = (ids(&case["prompt_ids"]), ids(&case["ids"]));
        let steps_plain = decode_logits(&plain, &prompt, &tokens, &device);
        let steps_fast = decode_logits(&fast, &prompt, &tokens, &device);
        for (p, f) in steps_plain.iter().zip(&steps_fast) {
            let (p, f) = (log_softmax_vec(p), log_softmax_vec(f));
            let mut top: Vec<usize> = (0..p.len()).collect();
            top.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
            for &id in &top[..5] {
                let d = (p[id] - f[id]).abs();
                (sum, n, worst) = (sum + d, n + 1, worst.max(d));
            }
            if p[top[0]] - p[top[1]] > 0.5 {
                let fast_best = (0..f.len()).max_by(|&a, &b| f[a].total_cmp(&f[b])).unwrap();
                assert_eq!(
                    fast_best, top[0],
                    "{}: top-1 differs where plain led by > 0.5 nats",
                    case["prompt"]
                );
                confident += 1;
            }
        }
    }
    let mean = sum / n as f64;
    eprintln!(
        "fast vs plain: mean |Δ log-prob| {mean:.4}, max {worst:.3} nats over {n} top-5 entries; {confident} confident steps agree"
    );
    // the bounds of llama.cpp's own Q4_1 run against the plain path (below)
    assert!(
        mean < 0.15,
        "mean log-prob difference {mean} nats is more than 8-bit activations explain"
    );
    assert!(worst < 1.0, "a log-prob moved by {worst} nats");
    assert!(confident >= 100, "too few confident steps to mean anything");
}

// ANCHOR_END: fast_vs_plain

/// Log-softmax over the vocabulary at every position: `[seq][vocab]`.
fn log_probs(model: &Llama, tokens: &[u32], device: &Device) -> Vec<Vec<f32>> {
    let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
    let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, tokens.len()]), device);
    let lp = log_softmax(model.forward(input, 0, &mut NoCache), 2);
    let vocab = model.config.vocab_size;
    lp.into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .chunks(vocab)
        .map(<[f32]>::to_vec)
        .collect()
}

/// For every golden step and top-5 candidate: (ours − llama.cpp's log-prob,
/// llama.cpp's margin between its best two, whether our top-1 agrees).
fn compare(model: &Llama, device: &Device, case: &Value) -> Vec<(f64, f64, bool)> {
    let prompt = ids(&case["prompt_ids"]);
    let mut all = prompt.clone();
    all.extend(ids(&case["ids"]));
    let ours = log_probs(model, &all, device);
    let mut out = Vec::new();
    for (step, top) in case["top"].as_array().unwrap().iter().enumerate() {
        let row = &ours[prompt.len() - 1 + step]; // the logits that predict step `step`
        let top = top.as_array().unwrap();
        let lp = |c: &Value| c["logprob"].as_f64().unwrap();
        let margin = lp(&top[0]) - lp(&top[1]);
        let our_best = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        let agrees = our_best as u64 == top[0]["id"].as_u64().unwrap();
        for cand in top {
            let id = cand["id"].as_u64().unwrap() as usize;
            out.push((row[id] as f64 - lp(cand), margin, agrees));
        }
    }
    out
}

#[test]
fn logprobs_equal_llamacpp_in_f32() {
    let (model, device) = load();
    let golden = golden("greedy_f32.json");
    let mut worst = 0.0f64;
    for case in golden["cases"].as_array().unwrap() {
        for (diff, _, agrees) in compare(&model, &device, case) {
            worst = worst.max(diff.abs());
            assert!(
                agrees,
                "{}: top-1 differs from llama.cpp (f32)",
                case["prompt"]
            );
        }
    }
    eprintln!("largest |log-prob difference| from llama.cpp (f32 weights): {worst:.2e} nats");
    assert!(
        worst < 1e-3,
        "ours and llama.cpp differ by {worst} nats on the same f32 weights"
    );
}

// ANCHOR: greedy_vs_llamacpp
#[test]
fn greedy_tokens_equal_llamacpp_in_f32() {
    let (model, device) = load();
    let greedy = GenerateOptions {
        max_tokens: 32,
        sampler: SamplerConfig::greedy(),
        stop_tokens: vec![],
    };
    for case in golden("greedy_f32.json")["cases"].as_array().unwrap() {
        let mut session = Session::new(&model, 256, &device);
        let mut ours: Vec<u32> = session
            .generate(&ids(&case["prompt_ids"]), greedy.clone())
            .unwrap()
            .collect();
        let expected = ids(&case["ids"]);
        if case["stop_type"] == "eos" {
            // llama.cpp stopped at its end-of-generation token (the last id); we were told not to
            ours.truncate(expected.len());
        }
        assert_eq!(ours, expected, "{}", case["prompt"]);
    }
}
// ANCHOR_END: greedy_vs_llamacpp

#[test]
fn close_to_llamacpp_on_the_quantized_file() {
    let (model, device) = load();
    let golden = golden("greedy.json");
    let (mut sum, mut n, mut confident, mut worst) = (0.0f64, 0usize, 0usize, 0.0f64);
    for case in golden["cases"].as_array().unwrap() {
        for (diff, margin, agrees) in compare(&model, &device, case) {
            sum += diff.abs();
            n += 1;
            worst = worst.max(diff.abs());
            // where llama.cpp's best candidate led by over a nat, 8-bit
            // activations cannot explain a different winner
            if margin > 1.0 {
                assert!(
                    agrees,
                    "{}: top-1 differs where llama.cpp led by {margin:.2} nats",
                    case["prompt"]
                );
                confident += 1;
            }
        }
    }
    let mean = sum / n as f64;
    eprintln!(
        "vs llama.cpp on Q4_1: mean |Δ log-prob| {mean:.4}, max {worst:.3} nats; {confident} confident steps agree"
    );
    assert!(
        mean < 0.15,
        "mean log-prob difference {mean} is more than activation quantization explains"
    );
    assert!(
        confident >= 5 * 40,
        "too few confident steps to mean anything"
    );
}
