//! `locallm bench`: prompt-processing and decode speed, as `llama-bench`
//! measures them, printed as JSON.
//!
//! `ppN`: one prefill of N tokens (tokens per second of the prompt phase).
//! `tgN`: N tokens decoded one forward pass at a time after a one-token
//! prompt. Each test runs `--repetitions` times after a warm-up; the result
//! is the mean and standard deviation of the per-run speeds, llama-bench's
//! `avg_ts` and `stddev_ts`. Peak resident memory (Linux `VmHWM`) is reported
//! with them, since memory is the other half of "does it run here".

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use locallm_infer::{GenerateOptions, SamplerConfig};
use serde_json::json;

use super::generate::CacheArgs;
use crate::loaded::{self, Loaded};

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF model file (default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Prompt lengths to test (llama-bench's -p); 0 skips prompt processing.
    #[arg(
        short = 'p',
        long = "n-prompt",
        value_delimiter = ',',
        default_value = "512"
    )]
    pub n_prompt: Vec<usize>,
    /// Tokens to generate (llama-bench's -n); 0 skips generation.
    #[arg(
        short = 'n',
        long = "n-gen",
        value_delimiter = ',',
        default_value = "128"
    )]
    pub n_gen: Vec<usize>,
    /// Runs per test (llama-bench's -r).
    #[arg(short = 'r', long, default_value_t = 3)]
    pub repetitions: usize,
    #[command(flatten)]
    pub cache: CacheArgs,
}

pub fn run(args: Args) -> Result<()> {
    if args.repetitions == 0 {
        bail!("--repetitions must be at least 1");
    }
    let path = loaded::model_path(args.model.as_deref())?;
    let l = loaded::load(Some(&path))?;
    let vocab = l.model.config.vocab_size as u32;
    // Deterministic ids spread over the vocabulary (llama-bench uses random ones).
    let tokens =
        |n: usize| -> Vec<u32> { (0..n as u32).map(|i| (i * 7919 + 13) % vocab).collect() };
    speed(&l, &args, &tokens(8), 2)?; // warm-up: first-touch of the weights, allocator

    let mut results = Vec::new();
    for &n in args.n_prompt.iter().filter(|&&n| n > 0) {
        let runs = (0..args.repetitions)
            .map(|_| speed(&l, &args, &tokens(n), 1).map(|(pp, _)| pp))
            .collect::<Result<Vec<_>>>()?;
        results.push(row(&l, &args, format!("pp{n}"), n, 0, &runs));
    }
    for &n in args.n_gen.iter().filter(|&&n| n > 0) {
        let runs = (0..args.repetitions)
            .map(|_| speed(&l, &args, &tokens(1), n + 1).map(|(_, tg)| tg))
            .collect::<Result<Vec<_>>>()?;
        results.push(row(&l, &args, format!("tg{n}"), 0, n, &runs));
    }
    let file_size = std::fs::metadata(&path).map(|m| m.len()).ok();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "model_filename": path.file_name().map(|f| f.to_string_lossy().to_string()),
            "model_size": file_size,
            "model_n_params": l.gguf.n_params(),
            "backend": locallm_model::default_backend_name()?,
            "threads": std::thread::available_parallelism().map(|n| n.get()).ok(),
            "peak_rss_bytes": peak_rss_bytes(),
            "results": results,
        }))?
    );
    Ok(())
}

/// One generation in a fresh session: (prefill tok/s, decode tok/s).
fn speed(l: &Loaded, args: &Args, prompt: &[u32], max_tokens: usize) -> Result<(f64, f64)> {
    let ctx = prompt.len() + max_tokens + 1;
    if ctx > l.model.config.context_length {
        bail!(
            "{} prompt + {} generated tokens exceed the model's context of {}",
            prompt.len(),
            max_tokens,
            l.model.config.context_length
        );
    }
    let mut session = args.cache.session(&l.model, ctx, &l.device)?;
    let opts = GenerateOptions {
        max_tokens,
        sampler: SamplerConfig::greedy(),
        stop_tokens: vec![], // always generate the full count
    };
    let mut generation = session.generate(prompt, opts)?;
    for _ in generation.by_ref() {}
    let stats = generation.stats();
    Ok((
        stats.prefill_tok_s().unwrap_or(0.0),
        stats.decode_tok_s().unwrap_or(0.0),
    ))
}

fn row(
    l: &Loaded,
    args: &Args,
    test: String,
    n_prompt: usize,
    n_gen: usize,
    runs: &[f64],
) -> serde_json::Value {
    let mean = runs.iter().sum::<f64>() / runs.len() as f64;
    let var = runs.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (runs.len().max(2) - 1) as f64;
    let types = args.cache.types();
    json!({
        "test": test,
        "n_prompt": n_prompt,
        "n_gen": n_gen,
        "avg_ts": mean,
        "stddev_ts": var.sqrt(),
        "samples_ts": runs,
        "cache_type_k": types.k.to_string(),
        "cache_type_v": types.v.to_string(),
        "kv_bytes_per_token": types.bytes_per_token(&l.model.config).ok(),
    })
}

/// Peak resident set size of this process so far (Linux only).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
