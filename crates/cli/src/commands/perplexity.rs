//! `locallm perplexity`: llama-perplexity's numbers, computed by our engine.
//!
//! Plain mode prints the perplexity of `--model` on `--file`. With
//! `--kl-divergence-base BASE.gguf` the base model is run over the text first
//! and its full next-token distributions are kept; then every `--model` is
//! compared with it (KL divergence, ΔPPL, same top token), as
//! llama-perplexity's `--kl-divergence` does. Several `--model`s share one
//! base run.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};
use locallm_infer::{CacheType, KlDivergence, PerplexityOptions};

use super::generate::CacheArgs;
use crate::loaded::{self, Loaded};

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF file or model name (see `locallm list`; default: SmolLM2-135M-Instruct, fetched on first use).
    /// With --kl-divergence-base, may be given several times.
    #[arg(short = 'm', long)]
    pub model: Vec<PathBuf>,
    /// The text to score.
    #[arg(long)]
    pub file: PathBuf,
    /// Tokens per chunk (llama-perplexity's -c).
    #[arg(long, default_value_t = 512)]
    pub ctx: usize,
    /// Score only the first N chunks (llama-perplexity's --chunks).
    #[arg(long)]
    pub chunks: Option<usize>,
    /// Compare with this base model: KL divergence, ΔPPL and same top token.
    #[arg(long, value_name = "BASE.gguf")]
    pub kl_divergence_base: Option<PathBuf>,
    /// Print the result as JSON (one object; with --kl-divergence-base, one
    /// object per model in an array).
    #[arg(long)]
    pub json: bool,
    // The KV cache each chunk is evaluated through. With
    // --kl-divergence-base it applies to the --model runs, not the base:
    // the same file as base and model measures what the cache type costs.
    #[command(flatten)]
    pub cache: CacheArgs,
}

pub fn run(args: Args) -> Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    match &args.kl_divergence_base {
        None => {
            if args.model.len() > 1 {
                bail!("several --model files need --kl-divergence-base");
            }
            plain(&args, &text)
        }
        Some(base) => compare(&args, base, &text),
    }
}

fn plain(args: &Args, text: &str) -> Result<()> {
    let l = loaded::load(args.model.first().map(PathBuf::as_path))?;
    let (tokens, opts) = prepare(&l, text, args.ctx, args.chunks)?;
    let new_cache = args
        .cache
        .perplexity_cache(&l.model.config, args.ctx, &l.device)?;
    let opts = PerplexityOptions {
        new_cache: new_cache.as_deref(),
        ..opts
    };
    let bar = chunk_bar(&tokens, args.ctx, "");
    let result = locallm_infer::perplexity(&l.model, &tokens, &opts, &l.device, |_, _, ppl| {
        bar.inc(1);
        bar.set_message(format!("ppl {ppl:.4}"));
    })?;
    bar.finish_and_clear();
    if args.json {
        println!(
            "{}",
            serde_json::json!({"ppl": result.ppl, "tokens_scored": result.tokens_scored, "chunks": result.chunks})
        );
    } else {
        println!(
            "Final estimate: PPL = {:.4} ({} chunks of {} tokens, {} tokens scored)",
            result.ppl, result.chunks, args.ctx, result.tokens_scored
        );
    }
    Ok(())
}

/// The text's tokens (cut to `--chunks`) and the evaluation options.
fn prepare<'a>(
    l: &Loaded,
    text: &str,
    ctx: usize,
    chunks: Option<usize>,
) -> Result<(Vec<u32>, PerplexityOptions<'a>)> {
    let mut tokens = l.tokenizer.encode_prompt(text)?;
    if let Some(chunks) = chunks {
        tokens.truncate(chunks.saturating_mul(ctx));
    }
    let bos = l.tokenizer.bos_id().filter(|_| l.tokenizer.add_bos_token());
    Ok((tokens, PerplexityOptions::new(ctx, bos)))
}

fn chunk_bar(tokens: &[u32], ctx: usize, prefix: &str) -> ProgressBar {
    let bar = ProgressBar::new((tokens.len() / ctx.max(1)) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} {bar:30} {pos}/{len} chunks, {msg} [{elapsed}<{eta}]",
        )
        .expect("valid template"),
    );
    bar.set_prefix(prefix.to_string());
    bar
}

fn compare(args: &Args, base_path: &Path, text: &str) -> Result<()> {
    let results = kl_divergence_many_with_cache(
        base_path,
        &args.model,
        text,
        args.ctx,
        args.chunks,
        &args.cache,
    )?;
    if args.json {
        let rows: Vec<_> = results
            .iter()
            .map(|(path, kl)| {
                let mut row = serde_json::to_value(kl).expect("serializable");
                row["model"] = path.display().to_string().into();
                row
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    for (path, kl) in &results {
        println!("{}", path.display());
        print_kl(kl);
    }
    Ok(())
}

/// Runs the base once, then compares each model with it (`ctx` tokens per
/// chunk, the first `chunks` chunks of `text`, or all of them).
pub fn kl_divergence_many(
    base_path: &Path,
    models: &[PathBuf],
    text: &str,
    ctx: usize,
    chunks: Option<usize>,
) -> Result<Vec<(PathBuf, KlDivergence)>> {
    let f32_cache = CacheArgs {
        cache_type_k: CacheType::F32,
        cache_type_v: CacheType::F32,
        no_cache_rotation: false,
    };
    kl_divergence_many_with_cache(base_path, models, text, ctx, chunks, &f32_cache)
}

/// [`kl_divergence_many`], with the models (not the base) run through a
/// KV cache of the types in `cache`.
pub fn kl_divergence_many_with_cache(
    base_path: &Path,
    models: &[PathBuf],
    text: &str,
    ctx: usize,
    chunks: Option<usize>,
    cache: &CacheArgs,
) -> Result<Vec<(PathBuf, KlDivergence)>> {
    if models.is_empty() {
        bail!("--kl-divergence-base needs at least one --model to compare with it");
    }
    let base = loaded::load(Some(base_path))?;
    let (tokens, opts) = prepare(&base, text, ctx, chunks)?;
    let bar = chunk_bar(&tokens, ctx, "base");
    let base_lp =
        locallm_infer::base_log_probs(&base.model, &tokens, &opts, &base.device, |_, _, ppl| {
            bar.inc(1);
            bar.set_message(format!("ppl {ppl:.4}"));
        })?;
    bar.finish_and_clear();
    let device = base.device.clone();
    drop(base);

    let mut results = Vec::new();
    for path in models {
        let l = loaded::load(Some(path))?;
        let (model_tokens, _) = prepare(&l, text, ctx, chunks)?;
        if model_tokens != tokens {
            bail!(
                "{} tokenizes the text differently from {}: KL divergence needs the same tokenizer",
                path.display(),
                base_path.display()
            );
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let bar = chunk_bar(&tokens, ctx, &name);
        let new_cache = cache.perplexity_cache(&l.model.config, ctx, &device)?;
        let opts = PerplexityOptions {
            new_cache: new_cache.as_deref(),
            ..opts
        };
        let kl = locallm_infer::kl_divergence(
            &base_lp,
            &l.model,
            &tokens,
            &opts,
            &device,
            |_, _, kld| {
                bar.inc(1);
                bar.set_message(format!("KLD {kld:.5}"));
            },
        )
        .with_context(|| format!("comparing {} with the base", path.display()))?;
        bar.finish_and_clear();
        results.push((path.clone(), kl));
    }
    Ok(results)
}

fn print_kl(kl: &KlDivergence) {
    println!("  Mean PPL(Q)                   : {:.4}", kl.ppl);
    println!("  Mean PPL(base)                : {:.4}", kl.ppl_base);
    println!(
        "  Mean ln(PPL(Q)/PPL(base))     : {:.6}",
        kl.mean_ln_ppl_ratio
    );
    println!("  Mean PPL(Q)-PPL(base)         : {:.4}", kl.delta_ppl);
    println!("  Mean    KLD                   : {:.6}", kl.kld_mean);
    println!("  Median  KLD                   : {:.6}", kl.kld_median);
    println!("  99.0%   KLD                   : {:.6}", kl.kld_p99);
    println!("  Maximum KLD                   : {:.6}", kl.kld_max);
    println!("  Same top p                    : {:.3} %", kl.same_top_pct);
    println!("  Tokens scored                 : {}", kl.tokens_scored);
}
