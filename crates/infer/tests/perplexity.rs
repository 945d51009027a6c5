//! Perplexity and KL divergence against the definitions, computed by hand in
//! f64 from the model's raw logits, on tiny random models. (The real model
//! against llama-perplexity is in crates/cli/tests/cli.rs.)

use burn::tensor::{Int, Tensor, TensorData};
use locallm_infer::{
    PerplexityError, PerplexityOptions, base_log_probs, kl_divergence, perplexity,
};
use locallm_model::{Device, Llama, LlamaConfig, NoCache, default_device};

const CTX: usize = 16;

fn tiny(seed: u64, device: &Device) -> Llama {
    device.seed(seed);
    Llama::init(&LlamaConfig::tiny(), device)
}

fn text(n: usize) -> Vec<u32> {
    (0..n as u32).map(|i| (i * 7 + i * i) % 64).collect()
}

/// f64 log-softmax of the logits that score chunk `c`: one row per scored
/// position (`CTX/2 .. CTX-1`), plus the token that came next.
fn scored_rows(model: &Llama, tokens: &[u32], c: usize, device: &Device) -> Vec<(Vec<f64>, usize)> {
    let chunk: Vec<i64> = tokens[c * CTX..(c + 1) * CTX]
        .iter()
        .map(|&t| t as i64)
        .collect();
    let input = Tensor::<2, Int>::from_data(TensorData::new(chunk, [1, CTX]), device);
    let logits = model
        .forward(input, 0, &mut NoCache)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let vocab = logits.len() / CTX;
    (CTX / 2..CTX - 1)
        .map(|j| {
            let row: Vec<f64> = logits[j * vocab..(j + 1) * vocab]
                .iter()
                .map(|&v| v as f64)
                .collect();
            let max = row.iter().cloned().fold(f64::MIN, f64::max);
            let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            let lp = row.iter().map(|v| v - lse).collect();
            (lp, tokens[c * CTX + j + 1] as usize)
        })
        .collect()
}

#[test]
fn perplexity_is_exp_of_the_mean_nll_of_the_second_halves() {
    let device = default_device().unwrap();
    let model = tiny(1, &device);
    let tokens = text(3 * CTX + 5); // 3 chunks, the tail dropped
    let ours = perplexity(
        &model,
        &tokens,
        &PerplexityOptions::new(CTX, None),
        &device,
        |_, _, _| {},
    )
    .unwrap();
    let rows: Vec<_> = (0..3)
        .flat_map(|c| scored_rows(&model, &tokens, c, &device))
        .collect();
    let nll = rows.iter().map(|(lp, next)| -lp[*next]).sum::<f64>() / rows.len() as f64;
    assert_eq!((ours.chunks, ours.tokens_scored), (3, 3 * (CTX / 2 - 1)));
    assert!((ours.nll - nll).abs() < 1e-5, "{} vs {nll}", ours.nll);
    assert!((ours.ppl.ln() - nll).abs() < 1e-5);
}

#[test]
fn kl_divergence_follows_its_definition() {
    let device = default_device().unwrap();
    let (base, other) = (tiny(1, &device), tiny(2, &device));
    let tokens = text(2 * CTX);
    let opts = PerplexityOptions::new(CTX, None);
    let base_lp = base_log_probs(&base, &tokens, &opts, &device, |_, _, _| {}).unwrap();
    let kl = kl_divergence(&base_lp, &other, &tokens, &opts, &device, |_, _, _| {}).unwrap();

    let (mut kld, mut same, mut nll) = (Vec::new(), 0, 0.0);
    for c in 0..2 {
        let p = scored_rows(&base, &tokens, c, &device);
        let q = scored_rows(&other, &tokens, c, &device);
        for ((p, next), (q, _)) in p.iter().zip(&q) {
            kld.push(p.iter().zip(q).map(|(a, b)| a.exp() * (a - b)).sum::<f64>());
            let argmax =
                |v: &Vec<f64>| (0..v.len()).max_by(|&i, &j| v[i].total_cmp(&v[j])).unwrap();
            same += usize::from(argmax(p) == argmax(q));
            nll -= q[*next];
        }
    }
    let n = kld.len() as f64;
    let mean = kld.iter().sum::<f64>() / n;
    assert!(mean > 1e-3, "two random models differ: {mean}");
    assert!(
        (kl.kld_mean - mean).abs() < 1e-4 * mean.max(1.0),
        "{} vs {mean}",
        kl.kld_mean
    );
    assert!((kl.same_top_pct - 100.0 * same as f64 / n).abs() < 1e-9);
    assert!((kl.ppl.ln() - nll / n).abs() < 1e-5);
    assert!((kl.ppl_base - base_lp.perplexity.ppl).abs() < 1e-12);
    assert!(kl.kld_max >= kl.kld_p99 && kl.kld_p99 >= kl.kld_median);
}

#[test]
fn a_model_against_itself_diverges_by_nothing() {
    let device = default_device().unwrap();
    let model = tiny(3, &device);
    let tokens = text(2 * CTX);
    let opts = PerplexityOptions::new(CTX, None);
    let base = base_log_probs(&model, &tokens, &opts, &device, |_, _, _| {}).unwrap();
    let kl = kl_divergence(&base, &model, &tokens, &opts, &device, |_, _, _| {}).unwrap();
    assert!(
        kl.kld_mean.abs() < 1e-6 && kl.delta_ppl.abs() < 1e-9,
        "{kl:?}"
    );
    assert_eq!(kl.same_top_pct, 100.0);
}

#[test]
fn mismatched_runs_and_short_texts_are_errors() {
    let device = default_device().unwrap();
    let model = tiny(4, &device);
    let tokens = text(4 * CTX);
    let base = base_log_probs(
        &model,
        &tokens,
        &PerplexityOptions::new(CTX, None),
        &device,
        |_, _, _| {},
    )
    .unwrap();
    let other_ctx = PerplexityOptions::new(2 * CTX, None);
    let err = kl_divergence(&base, &model, &tokens, &other_ctx, &device, |_, _, _| {});
    assert!(matches!(err, Err(PerplexityError::BaseMismatch { .. })));
    let err = perplexity(
        &model,
        &tokens[..CTX + 3],
        &PerplexityOptions::new(CTX, None),
        &device,
        |_, _, _| {},
    );
    assert!(
        matches!(
            err,
            Err(PerplexityError::TooShort {
                tokens: 19,
                ctx: 16
            })
        ),
        "{err:?}"
    );
    let err = perplexity(
        &model,
        &tokens,
        &PerplexityOptions::new(3, None),
        &device,
        |_, _, _| {},
    );
    assert!(matches!(err, Err(PerplexityError::CtxTooSmall(3))));
}
