//! A quantized KV cache on the real model: it still generates, greedy text
//! with Q8_0 keys and values starts like the f32 cache's, and the KL
//! divergence from the f32 cache grows as the bits shrink.

use burn::tensor::Device;
use locallm_infer::{
    CacheType, CacheTypes, GenerateOptions, PerplexityOptions, QuantizedCache, SamplerConfig,
    Session, base_log_probs, kl_divergence,
};
use locallm_model::{KvCache, Llama, LlamaConfig, default_device};
use locallm_tokenizer::{Message, Tokenizer};

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

fn load() -> (Llama, Tokenizer, Device) {
    let gguf = locallm_quant::GgufFile::open(locallm_models::default_model().unwrap()).unwrap();
    let device = default_device().unwrap();
    let model = locallm_model::load_llama(&gguf, &device).unwrap();
    let tokenizer = Tokenizer::from_metadata(&gguf.metadata).unwrap();
    (model, tokenizer, device)
}

fn chat_prompt(tokenizer: &Tokenizer, question: &str) -> Vec<u32> {
    let text = tokenizer
        .chat_template()
        .unwrap()
        .render(&[Message::new("user", question)], true)
        .unwrap();
    tokenizer.encode_prompt(&text).unwrap()
}

fn generate(
    model: &Llama,
    prompt: &[u32],
    types: CacheTypes,
    n: usize,
    device: &Device,
) -> Vec<u32> {
    let mut session = Session::with_cache_types(model, 256, types, device).unwrap();
    session.generate(prompt, greedy(n)).unwrap().collect()
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[test]
fn greedy_text_with_a_quantized_cache_starts_like_f32() {
    let (model, tokenizer, device) = load();
    let n = 24;
    for question in ["What is the capital of France?", "Name three colours."] {
        let prompt = chat_prompt(&tokenizer, question);
        let f32 = generate(&model, &prompt, CacheTypes::default(), n, &device);
        let q8 = generate(
            &model,
            &prompt,
            CacheTypes::both(CacheType::Q8_0),
            n,
            &device,
        );
        let q4 = generate(
            &model,
            &prompt,
            CacheTypes::both(CacheType::Q4_0),
            n,
            &device,
        );
        let show = |ids: &[u32]| tokenizer.decode(ids).unwrap();
        eprintln!(
            "f32 : {:?}\nq8_0: {:?}\nq4_0: {:?}",
            show(&f32),
            show(&q8),
            show(&q4)
        );
        assert_eq!(q8.len(), n);
        assert_eq!(q4.len(), n);
        // Q8_0 rounds each number by at most 1/254 of its block's largest:
        // not enough to change a greedy choice over this stretch
        assert_eq!(q8, f32, "q8_0 cache changed the greedy text");
        // Q4_0 has 16 levels per block: the text drifts where the model
        // hesitated (its cost is measured by the KL test below), but the
        // answer starts the same
        assert!(
            common_prefix(&q4, &f32) >= 3,
            "q4_0 cache diverged within 3 tokens"
        );
    }
}

#[test]
fn kl_divergence_from_the_f32_cache_grows_as_bits_shrink() {
    let (model, tokenizer, device) = load();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/texts/gpl-3.txt"
    ))
    .unwrap();
    let (ctx, chunks) = (128, 3);
    let mut tokens = tokenizer.encode_prompt(&text).unwrap();
    tokens.truncate(ctx * chunks);
    let bos = tokenizer.bos_id().filter(|_| tokenizer.add_bos_token());
    let opts = PerplexityOptions::new(ctx, bos);
    let base = base_log_probs(&model, &tokens, &opts, &device, |_, _, _| {}).unwrap();

    let kld = |types: CacheTypes| {
        // the byte-storing cache even for f32, so its plumbing is tested too
        let new_cache = || -> Box<dyn KvCache> {
            Box::new(QuantizedCache::new(&model.config, 1, ctx, types).unwrap())
        };
        let opts = PerplexityOptions {
            new_cache: Some(&new_cache),
            ..opts
        };
        let kl = kl_divergence(&base, &model, &tokens, &opts, &device, |_, _, _| {}).unwrap();
        eprintln!(
            "{types}: KLD {:.6}, ΔPPL {:+.4}, same top {:.1}%",
            kl.kld_mean, kl.delta_ppl, kl.same_top_pct
        );
        kl
    };
    let f32 = kld(CacheTypes::both(CacheType::F32));
    let f16 = kld(CacheTypes::both(CacheType::F16));
    let q8 = kld(CacheTypes::both(CacheType::Q8_0));
    let q4 = kld(CacheTypes::both(CacheType::Q4_0));
    let unrotated = |ty| CacheTypes {
        rotate: false,
        ..CacheTypes::both(ty)
    };
    let q8_plain = kld(unrotated(CacheType::Q8_0));
    let q4_plain = kld(unrotated(CacheType::Q4_0));
    // stored as f32 bytes, nothing is lost: only summation-order noise
    assert!(f32.kld_mean < 1e-6, "f32 byte cache: KLD {}", f32.kld_mean);
    assert!(f16.kld_mean < 1e-3, "f16: KLD {}", f16.kld_mean);
    assert!(q8.kld_mean < 0.01, "q8_0: KLD {}", q8.kld_mean);
    assert!(
        q8.same_top_pct > 95.0,
        "q8_0: same top {}%",
        q8.same_top_pct
    );
    assert!(q4.kld_mean < 0.25, "q4_0: KLD {}", q4.kld_mean);
    assert!(
        f16.kld_mean < q8.kld_mean && q8.kld_mean < q4.kld_mean,
        "KLD should grow as bits shrink: f16 {} q8_0 {} q4_0 {}",
        f16.kld_mean,
        q8.kld_mean,
        q4.kld_mean
    );
    // the rotation spreads the keys' outlier channels: 4-bit blocks lose less
    for (rotated, plain) in [(&q8, &q8_plain), (&q4, &q4_plain)] {
        assert!(
            rotated.kld_mean < 0.6 * plain.kld_mean,
            "rotation should help: KLD {} rotated vs {} plain",
            rotated.kld_mean,
            plain.kld_mean
        );
    }
}

/// A quantized cache is still a cache: feeding a sequence one token at a
/// time gives the logits of prefilling it at once, because each row is
/// packed on its own, the same way whichever pass wrote it.
#[test]
fn quantized_cache_decode_equals_prefill_tiny_model() {
    let device = default_device().unwrap();
    device.seed(5);
    let config = LlamaConfig {
        d_model: 128,
        head_dim: 32, // a whole Q4_0/Q8_0 block per row
        ..LlamaConfig::tiny()
    };
    let model = Llama::init(&config, &device);
    let tokens: Vec<u32> = vec![3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    for ty in [CacheType::F16, CacheType::Q8_0, CacheType::Q4_0] {
        let types = CacheTypes::both(ty);
        let mut stepped = QuantizedCache::new(&config, 1, 16, types).unwrap();
        let last = |cache: &mut QuantizedCache, part: &[u32], start: usize| {
            locallm_infer::generate::last_logits(&model, part, cache, start, &device)
        };
        last(&mut stepped, &tokens[..4], 0);
        for n in 4..tokens.len() {
            let step = last(&mut stepped, &tokens[n..n + 1], n);
            let mut fresh = QuantizedCache::new(&config, 1, 16, types).unwrap();
            let full = last(&mut fresh, &tokens[..n + 1], 0);
            let max_diff = step
                .iter()
                .zip(&full)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(max_diff < 1e-4, "{ty}, position {n}: {max_diff}");
        }
    }
}

#[test]
fn sessions_report_the_smaller_cache() {
    let device = default_device().unwrap();
    let config = LlamaConfig {
        d_model: 128,
        head_dim: 32,
        ..LlamaConfig::tiny()
    };
    let model = Llama::init(&config, &device);
    let f32 = Session::new(&model, 64, &device);
    let q4 =
        Session::with_cache_types(&model, 64, CacheTypes::both(CacheType::Q4_0), &device).unwrap();
    // 32 numbers: 128 bytes as f32, one 18-byte Q4_0 block
    assert_eq!(f32.cache_bytes() * 18, q4.cache_bytes() * 128);
    assert_eq!(
        q4.cache_bytes_per_token(),
        CacheTypes::both(CacheType::Q4_0)
            .bytes_per_token(&config)
            .unwrap()
    );
    assert_eq!(q4.cache_types().k, CacheType::Q4_0);
    // a model whose rows cannot be cut into blocks gets an error, not a panic
    let tiny = Llama::init(&LlamaConfig::tiny(), &device);
    let err = Session::with_cache_types(&tiny, 64, CacheTypes::both(CacheType::Q8_0), &device)
        .err()
        .expect("head_dim 8 does not fill a Q8_0 block");
    assert!(err.to_string().contains("head_dim is 8"), "{err}");
}
