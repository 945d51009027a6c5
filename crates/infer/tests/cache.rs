//! The KV cache must be invisible: generating with it gives exactly the
//! tokens that recomputing the whole sequence for every new token gives.

use locallm_infer::{GenerateOptions, SamplerConfig, Session, generate_greedy_uncached};
use locallm_model::{Llama, LlamaConfig, NoCache, default_device};

fn greedy(max_tokens: usize) -> GenerateOptions {
    GenerateOptions {
        max_tokens,
        sampler: SamplerConfig {
            temperature: 0.0,
            ..SamplerConfig::default()
        },
        stop_tokens: vec![],
    }
}

// ANCHOR: cache_equals_recompute
#[test]
fn cached_generation_equals_recomputation_tiny_model() {
    let device = default_device().unwrap();
    device.seed(7);
    let model = Llama::init(&LlamaConfig::tiny(), &device);
    let prompt = [1, 5, 9, 2, 33, 17];

    let mut session = Session::new(&model, 64, &device);
    let cached: Vec<u32> = session.generate(&prompt, greedy(20)).unwrap().collect();
    let recomputed = generate_greedy_uncached(&model, &prompt, 20, &device);

    assert_eq!(cached, recomputed);
}
// ANCHOR_END: cache_equals_recompute

#[test]
fn cached_logits_match_full_recompute_tiny_model() {
    let device = default_device().unwrap();
    device.seed(11);
    let model = Llama::init(&LlamaConfig::tiny(), &device);
    let tokens: Vec<u32> = vec![3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    let mut cache = locallm_infer::PreallocatedCache::new(&model.config, 1, 32, &device);
    // prefill 4 tokens, then one at a time; compare each step with a no-cache pass
    locallm_infer::generate::last_logits(&model, &tokens[..4], &mut cache, 0, &device);
    for n in 4..tokens.len() {
        let step =
            locallm_infer::generate::last_logits(&model, &tokens[n..n + 1], &mut cache, n, &device);
        let full = locallm_infer::generate::last_logits(
            &model,
            &tokens[..n + 1],
            &mut NoCache,
            0,
            &device,
        );
        let max_diff = step
            .iter()
            .zip(&full)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            max_diff < 1e-4,
            "position {n}: cached and recomputed logits differ by {max_diff}"
        );
    }
}

// ANCHOR: session_reuses_the_shared_prefix
#[test]
fn session_reuses_the_shared_prefix() {
    let device = default_device().unwrap();
    device.seed(3);
    let model = Llama::init(&LlamaConfig::tiny(), &device);
    let mut session = Session::new(&model, 64, &device);
    let first = [1, 2, 3, 4, 5];
    let answer: Vec<u32> = session.generate(&first, greedy(4)).unwrap().collect();

    // the next turn starts with everything the cache already holds
    let mut second: Vec<u32> = first.to_vec();
    second.extend(&answer[..3]);
    second.extend([7, 8]);
    let generation = session.generate(&second, greedy(5)).unwrap();
    assert_eq!(generation.reused_tokens(), first.len() + 3);
    let continued: Vec<u32> = generation.collect();
    // and the reuse changes nothing about the result
    assert_eq!(
        continued,
        generate_greedy_uncached(&model, &second, 5, &device)
    );
}
// ANCHOR_END: session_reuses_the_shared_prefix

#[test]
fn real_model_cache_equals_recompute() {
    let path = locallm_models::default_model().unwrap();
    let gguf = locallm_quant::GgufFile::open(path).unwrap();
    let device = default_device().unwrap();
    let model = locallm_model::load_llama(&gguf, &device).unwrap();
    // "The capital of France is" as llama.cpp tokenizes it is checked elsewhere;
    // any ids do here, both paths see the same ones
    let prompt = [504, 3575, 282, 4649, 314];
    let mut session = Session::new(&model, 128, &device);
    let cached: Vec<u32> = session.generate(&prompt, greedy(12)).unwrap().collect();
    assert_eq!(
        cached,
        generate_greedy_uncached(&model, &prompt, 12, &device)
    );
}

#[test]
fn errors_instead_of_panics() {
    let device = default_device().unwrap();
    let model = Llama::init(&LlamaConfig::tiny(), &device);
    let mut session = Session::new(&model, 8, &device);
    assert!(session.generate(&[], greedy(1)).is_err(), "empty prompt");
    assert!(
        session.generate(&[1; 9], greedy(1)).is_err(),
        "prompt longer than the context"
    );
    assert!(
        session.generate(&[1, 999], greedy(1)).is_err(),
        "id outside the vocabulary"
    );
    // a generation that fills the context stops with a reason instead of overflowing
    let mut g = session.generate(&[1, 2, 3], greedy(100)).unwrap();
    let n = g.by_ref().count();
    assert_eq!(n, 6, "3 prompt tokens + 5 generated fill 8 positions");
    assert_eq!(
        g.finish_reason(),
        Some(locallm_infer::FinishReason::Context)
    );
}

/// A prompt longer than one prefill batch goes through in several passes;
/// the answer must be the one a single pass over everything gives.
#[test]
fn a_prompt_longer_than_a_prefill_batch_is_read_in_batches() {
    let device = default_device().unwrap();
    device.seed(5);
    let config = LlamaConfig {
        context_length: 2 * locallm_infer::PREFILL_BATCH,
        ..LlamaConfig::tiny()
    };
    let model = Llama::init(&config, &device);
    let prompt: Vec<u32> = (0..locallm_infer::PREFILL_BATCH as u32 + 37)
        .map(|i| (i * 13 + 5) % 64)
        .collect();

    let mut session = Session::new(&model, prompt.len() + 8, &device);
    let batched: Vec<u32> = session.generate(&prompt, greedy(6)).unwrap().collect();
    let recomputed = generate_greedy_uncached(&model, &prompt, 6, &device);

    assert_eq!(batched, recomputed);
}

/// The tiny model with the fast path's fused attention and activation.
fn fused_tiny(seed: u64) -> (Llama, locallm_model::Device) {
    let device = default_device().unwrap();
    device.seed(seed);
    let mut model = Llama::init(&LlamaConfig::tiny(), &device);
    for b in &mut model.blocks {
        b.attn.fused = Some(locallm_model::Kernels::default());
        b.mlp.fused = Some(locallm_model::Kernels::default());
    }
    (model, device)
}

/// Logits of `tokens`: the first 4 at once, then one at a time, through
/// `cache`.
fn stepped_logits(
    model: &Llama,
    tokens: &[u32],
    cache: &mut dyn locallm_model::KvCache,
    device: &locallm_model::Device,
) -> Vec<Vec<f32>> {
    let mut out = vec![locallm_infer::generate::last_logits(
        model,
        &tokens[..4],
        cache,
        0,
        device,
    )];
    for n in 4..tokens.len() {
        let step = &tokens[n..n + 1];
        out.push(locallm_infer::generate::last_logits(
            model, step, cache, n, device,
        ));
    }
    out
}

/// The fast path's host cache lends its memory to the fused attention (a
/// decoded token too) and gives the logits of the tensor cache, where burn
/// attends to a decoded token, within f32 rounding (2e-6, measured 2.4e-7
/// on logits of magnitude ~1: the two sum in different orders); a session on such a
/// model uses it, and its greedy tokens equal recomputation's.
#[test]
fn host_cache_serves_the_fused_attention_as_the_tensor_cache_does() {
    let (model, device) = fused_tiny(13);
    assert!(model.runs_fused());
    let tokens: Vec<u32> = vec![3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];
    let mut host = locallm_infer::HostCache::new(&model.config, 32, &device);
    let mut tensors = locallm_infer::PreallocatedCache::new(&model.config, 1, 32, &device);
    let a = stepped_logits(&model, &tokens, &mut host, &device);
    let b = stepped_logits(&model, &tokens, &mut tensors, &device);
    for (n, (a, b)) in a.iter().zip(&b).enumerate() {
        let d = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(d < 2e-6, "step {n}: host and tensor caches differ by {d}");
    }

    let prompt = [1, 5, 9, 2, 33, 17];
    let mut session = Session::new(&model, 64, &device);
    let cached: Vec<u32> = session.generate(&prompt, greedy(20)).unwrap().collect();
    assert_eq!(
        cached,
        generate_greedy_uncached(&model, &prompt, 20, &device)
    );
}

/// Through its tensor way in (the plain path), the host cache hands back
/// exactly what the tensor cache does: the same logits, bit for bit.
#[test]
fn host_cache_through_tensors_equals_the_tensor_cache() {
    let device = default_device().unwrap();
    device.seed(17);
    let model = Llama::init(&LlamaConfig::tiny(), &device);
    let tokens: Vec<u32> = vec![2, 7, 1, 8, 2, 8, 1, 8, 2, 8];
    let mut host = locallm_infer::HostCache::new(&model.config, 16, &device);
    let mut tensors = locallm_infer::PreallocatedCache::new(&model.config, 1, 16, &device);
    assert_eq!(
        stepped_logits(&model, &tokens, &mut host, &device),
        stepped_logits(&model, &tokens, &mut tensors, &device)
    );
}
