//! Continuous batching must be invisible: a decode step of several
//! sequences at once gives each one the logits it gets alone, and
//! generations stepped together (starting and ending at different steps)
//! give the tokens each one gives on its own.

use std::sync::Arc;

use burn::tensor::{Int, Tensor, TensorData};
use locallm_infer::{GenerateOptions, PreallocatedCache, SamplerConfig, Session, batch};
use locallm_model::{Device, Llama, LlamaConfig, LoadOptions, Seq, default_device};

/// A batched row and the same row alone go through the same kernels; they
/// may differ only in the order of a sum (a kernel that multiplies several
/// rows at once, burn's matmul blocking). One f32 rounding per addition over
/// d_model = 576 terms of logits of size ~20 is ~1e-5; 1e-4 leaves room and
/// still catches a wrong position, cache or row (those move logits by > 0.1).
/// Measured: bit-identical on the tiny f32 model; on SmolLM2 Q4_1, whose
/// batched rows go through the GEMM's few-rows shape (sums per SIMD lane,
/// then the lanes) where a row alone goes through a row kernel, 3.0e-5.
const TOL: f32 = 1e-4;

fn smollm() -> (Llama, Device) {
    let path = locallm_models::default_model().unwrap();
    let gguf = Arc::new(locallm_quant::GgufFile::open(path).unwrap());
    let device = default_device().unwrap();
    let model =
        locallm_model::load_llama_for_inference(&gguf, &device, &LoadOptions::default()).unwrap();
    (model, device)
}

fn ids(tokens: &[u32], device: &Device) -> Tensor<2, Int> {
    let v: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
    Tensor::from_data(TensorData::new(v, [tokens.len(), 1]), device)
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// Three sequences of different lengths: each prompt but its last token in
/// its own cache; then two decode steps, batched and one sequence at a time.
fn batched_equals_alone(model: &Llama, device: &Device, prompts: &[&[u32]]) {
    let cache = || PreallocatedCache::new(&model.config, 1, 64, device);
    let prefill = |prompt: &[u32]| {
        let mut c = cache();
        let n = prompt.len() - 1;
        let input = Tensor::from_data(
            TensorData::new(prompt[..n].iter().map(|&t| t as i64).collect(), [1, n]),
            device,
        );
        model.forward_last(input, 0, &mut c);
        c
    };
    let mut batched: Vec<PreallocatedCache> = prompts.iter().map(|p| prefill(p)).collect();
    let mut alone: Vec<PreallocatedCache> = prompts.iter().map(|p| prefill(p)).collect();
    let mut next: Vec<u32> = prompts.iter().map(|p| *p.last().unwrap()).collect();
    let mut pos: Vec<usize> = prompts.iter().map(|p| p.len() - 1).collect();
    let vocab = model.config.vocab_size;
    let mut worst = 0.0f32;
    for step in 0..2 {
        let mut seqs: Vec<Seq<'_>> = (batched.iter_mut().zip(&pos))
            .map(|(cache, &start)| Seq { start, cache })
            .collect();
        let rows = values(model.forward_batch(ids(&next, device), &mut seqs)); // [n, vocab]
        for (i, cache) in alone.iter_mut().enumerate() {
            let own = values(model.forward_last(ids(&next[i..i + 1], device), pos[i], cache));
            let row = &rows[i * vocab..(i + 1) * vocab];
            let diff = (row.iter().zip(&own)).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                diff <= TOL,
                "step {step}, sequence {i}: logits differ by {diff}"
            );
            worst = worst.max(diff);
            // greedy: the next token of each sequence
            let best = (0..vocab)
                .max_by(|&a, &b| own[a].total_cmp(&own[b]))
                .unwrap();
            next[i] = best as u32;
            pos[i] += 1;
        }
    }
    eprintln!("largest difference, batched against alone: {worst:e}");
}

#[test]
fn batched_step_logits_equal_each_sequence_alone() {
    let (model, device) = smollm();
    // "The capital of France is", "Hello", and a longer one
    let prompts: [&[u32]; 3] = [
        &[504, 3575, 282, 4649, 314],
        &[19556, 28],
        &[
            504, 3575, 282, 4649, 314, 7042, 30, 378, 3575, 282, 7137, 314,
        ],
    ];
    batched_equals_alone(&model, &device, &prompts);
}

#[test]
fn batched_step_logits_equal_each_sequence_alone_tiny_f32() {
    let device = default_device().unwrap();
    device.seed(5);
    let model = Llama::init(&LlamaConfig::tiny(), &device);
    let prompts: [&[u32]; 4] = [
        &[1, 5, 9, 2, 33],
        &[7, 3],
        &[4, 4, 4, 4, 4, 4, 4, 8, 1],
        &[2, 9],
    ];
    batched_equals_alone(&model, &device, &prompts);
}

fn greedy(max_tokens: usize, stop_tokens: Vec<u32>) -> GenerateOptions {
    GenerateOptions {
        max_tokens,
        sampler: SamplerConfig {
            temperature: 0.0,
            ..SamplerConfig::default()
        },
        stop_tokens,
    }
}

// ANCHOR: batched_generations
/// Four requests, each in its own session: three start together, the
/// fourth joins after three steps, one stops early. Stepped together, each
/// yields exactly the tokens it yields alone.
#[test]
fn generations_stepped_together_equal_each_alone() {
    let (model, device) = smollm();
    let requests: [(&[u32], GenerateOptions); 4] = [
        (&[504, 3575, 282, 4649, 314], greedy(12, vec![])),
        (&[19556, 28], greedy(3, vec![])),
        (&[504, 3575, 282, 7137, 314], greedy(10, vec![])),
        (&[1204, 253, 1569], greedy(8, vec![])),
    ];
    let alone: Vec<Vec<u32>> = (requests.iter())
        .map(|(prompt, opts)| {
            let mut session = Session::new(&model, 64, &device);
            let generation = session.generate_batched(prompt, opts.clone()).unwrap();
            generation.collect()
        })
        .collect();

    let mut sessions: Vec<Session<'_>> =
        (0..4).map(|_| Session::new(&model, 64, &device)).collect();
    let mut free: Vec<&mut Session<'_>> = sessions.iter_mut().collect();
    let mut active = Vec::new(); // (request, generation, tokens so far)
    let mut together = vec![Vec::new(); 4];
    for step in 0.. {
        // requests join between steps
        let joining = match step {
            0 => 0..3,
            3 => 3..4,
            _ => 0..0,
        };
        for r in joining {
            let (prompt, opts) = &requests[r];
            let session = free.pop().unwrap();
            active.push((r, session.generate_batched(prompt, opts.clone()).unwrap()));
        }
        if active.is_empty() {
            break;
        }
        let mut gens: Vec<_> = active.iter_mut().map(|(_, g)| g).collect();
        batch::step(&mut gens);
        // each samples its own token; those that are over leave the batch
        let mut still = Vec::new();
        for (r, mut g) in active.drain(..) {
            match g.next() {
                Some(token) => {
                    together[r].push(token);
                    still.push((r, g));
                }
                None => free.push(g.into_session()),
            }
        }
        active = still;
    }
    assert_eq!(together, alone);
    assert_eq!(alone[1].len(), 3);
}
// ANCHOR_END: batched_generations
