//! Our sampler against llama.cpp's sampler chain, on the same logits.
//!
//! `scripts/golden_sampler.py` sets exact logits in llama-server (a model
//! whose logits are all 0, plus a `logit_bias` per token) and asks for the
//! post-sampling probabilities: the distribution llama.cpp's final `dist`
//! sampler draws from, after penalties over a history, top-k, top-p, min-p
//! and temperature. `tests/golden/sampler/llamacpp_chain.json` holds them.
//!
//! Our chain runs in llama.cpp's default order (penalties, top-k, top-p,
//! min-p, temperature last), and [`Sampler::probabilities`] must give the
//! same distribution. Some cases run llama.cpp's chain with the temperature
//! first (as Hugging Face transformers orders it), which our `Sampler` does
//! not do by design; for those, our step functions are composed in that
//! order, and the test also checks that the two orders really differ.

use std::collections::BTreeMap;
use std::path::PathBuf;

use locallm_infer::sampler::{self, Sampler, SamplerConfig};
use serde::Deserialize;

/// Largest difference allowed between two probabilities; which tokens
/// survive the filters must agree exactly. llama.cpp's softmax is f32
/// throughout (`expf`, an f32 running sum), ours sums in f64 and rounds the
/// result to f32, and temperature is `l / t` there, `(l - max) / t` here: a
/// few f32 roundings of numbers below 1, each at most 6e-8 (half an ulp of
/// 1.0). Measured: 3e-8 at most over all cases; 1e-6 leaves room for other
/// platforms' `exp` while any real difference in the chain (a penalty, a
/// temperature, one token more or less) moves probabilities by far more.
const TOLERANCE: f32 = 1e-6;

#[derive(Deserialize)]
struct Golden {
    n_vocab: usize,
    default_order: Vec<String>,
    logits: BTreeMap<String, Vec<f32>>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    logits: String,
    history: Vec<u32>,
    settings: SamplerConfig,
    order: Vec<String>,
    probs: Vec<(u32, f32)>,
}

fn golden() -> Golden {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/sampler/llamacpp_chain.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Samplers that are in llama.cpp's default chain but off in every case
/// (the script sets their neutral values): DRY, top-n-sigma, typical-p, XTC.
const OFF_IN_LLAMA_CPP: [&str; 4] = ["dry", "top_n_sigma", "typ_p", "xtc"];

/// Our step functions composed in `order`. They carry the preconditions of
/// our fixed chain: the penalties index candidates by id (so they come
/// first), top-p and min-p expect candidates sorted best first (which top-k
/// does, so it comes before them).
fn in_order(
    order: &[String],
    logits: &[f32],
    history: &[u32],
    c: &SamplerConfig,
) -> Vec<(u32, f32)> {
    let mut cands = sampler::candidates(logits);
    let mut sorted = false;
    for (i, step) in order.iter().enumerate() {
        match step.as_str() {
            "penalties" => {
                assert_eq!(i, 0, "our penalties need candidates in id order");
                sampler::penalties(&mut cands, history, c);
            }
            "temperature" => sampler::temperature(&mut cands, c.temperature),
            "top_k" => {
                sampler::top_k(&mut cands, c.top_k);
                sorted = true;
            }
            "top_p" | "min_p" => {
                assert!(sorted, "{step} needs candidates sorted best first");
                if step == "top_p" {
                    sampler::top_p(&mut cands, c.top_p);
                } else {
                    sampler::min_p(&mut cands, c.min_p);
                }
            }
            other => assert!(OFF_IN_LLAMA_CPP.contains(&other), "unknown sampler {other}"),
        }
    }
    let ids = cands.iter().map(|&(id, _)| id);
    ids.zip(sampler::softmax(&cands)).collect()
}

/// Largest probability difference, or why the two distributions differ in
/// which tokens survive.
fn compare(ours: &[(u32, f32)], theirs: &[(u32, f32)]) -> Result<f32, String> {
    let ours: BTreeMap<u32, f32> = ours.iter().copied().collect();
    let theirs: BTreeMap<u32, f32> = theirs.iter().copied().collect();
    if !ours.keys().eq(theirs.keys()) {
        return Err(format!(
            "kept tokens differ: ours {:?}, llama.cpp {:?}",
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>()
        ));
    }
    let diff = ours
        .iter()
        .map(|(id, p)| (p - theirs[id]).abs())
        .fold(0.0, f32::max);
    Ok(diff)
}

fn ours(g: &Golden, case: &Case) -> Vec<(u32, f32)> {
    let logits = &g.logits[&case.logits];
    assert_eq!(logits.len(), g.n_vocab);
    if case.order == g.default_order {
        let sampler = Sampler::new(case.settings.clone()).unwrap();
        sampler.probabilities(logits, &case.history)
    } else {
        in_order(&case.order, logits, &case.history, &case.settings)
    }
}

#[test]
fn our_chain_gives_llama_cpp_s_distribution() {
    let g = golden();
    // llama.cpp's default order is ours, with its extra samplers switched off
    let ours_order: Vec<&str> = g
        .default_order
        .iter()
        .map(String::as_str)
        .filter(|s| !OFF_IN_LLAMA_CPP.contains(s))
        .collect();
    assert_eq!(
        ours_order,
        ["penalties", "top_k", "top_p", "min_p", "temperature"]
    );
    let mut failures = Vec::new();
    let mut worst = 0.0f32;
    for case in &g.cases {
        match compare(&ours(&g, case), &case.probs) {
            Ok(diff) if diff <= TOLERANCE => {
                worst = worst.max(diff);
                eprintln!(
                    "{:55} {:3} tokens, max |dp| {diff:.1e}",
                    case.name,
                    case.probs.len()
                );
            }
            Ok(diff) => failures.push(format!("{}: max |dp| {diff:e}", case.name)),
            Err(why) => failures.push(format!("{}: {why}", case.name)),
        }
    }
    eprintln!("{} cases, largest difference {worst:.1e}", g.cases.len());
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(g.cases.len() >= 20);
}

/// The temperature-first cases come in pairs with a default-order twin: the
/// order must change llama.cpp's distribution (or the pair shows nothing),
/// and our default chain must match the default twin, not the other.
#[test]
fn temperature_first_is_a_different_distribution() {
    let g = golden();
    let mut pairs = 0;
    for case in g.cases.iter().filter(|c| c.order != g.default_order) {
        assert_eq!(case.order[1], "temperature", "{}", case.name);
        let twin_name = case.name.strip_suffix(", temperature first").unwrap();
        let twin = g.cases.iter().find(|c| c.name == twin_name).unwrap();
        assert_eq!(twin.settings, case.settings);
        let apart = compare(&twin.probs, &case.probs).map_or(true, |d| d > 1e-3);
        assert!(
            apart,
            "{}: both orders give the same distribution",
            case.name
        );
        let default_chain = ours(&g, twin);
        assert!(
            compare(&default_chain, &case.probs).map_or(true, |d| d > 1e-3),
            "{}",
            case.name
        );
        pairs += 1;
    }
    assert!(pairs >= 3, "{pairs}");
}
