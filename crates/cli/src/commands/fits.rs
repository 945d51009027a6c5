//! `locallm fits`: will a model run on this memory, and at what context?
//!
//! Weights + KV cache + scratch, from a GGUF file (`--model`, default: the
//! default model) or from a shape given by hand (`--params 8B --layers 32
//! ...`), then the verdict for `--memory` and the same for a table of typical
//! machines. The arithmetic is in `locallm-sizing`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use locallm_quant::QuantMix;
use locallm_sizing::{
    Estimate, ModelShape, Runtime, UBATCH, Verdict, Weights, format_bytes, parse_cache_type,
    parse_count, parse_memory, parse_runtime, tier_table,
};

use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF file or model name (see `locallm list`; default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(short = 'm', long, conflicts_with = "params")]
    pub model: Option<PathBuf>,
    /// Parameter count of a model given by hand, e.g. 8B or 135M.
    #[arg(long, requires_all = ["layers", "kv_heads", "head_dim", "heads", "vocab"])]
    pub params: Option<String>,
    /// Transformer layers (with --params).
    #[arg(long)]
    pub layers: Option<u64>,
    /// Query heads (with --params).
    #[arg(long)]
    pub heads: Option<u64>,
    /// Key/value heads (with --params).
    #[arg(long)]
    pub kv_heads: Option<u64>,
    /// Numbers per head (with --params).
    #[arg(long)]
    pub head_dim: Option<u64>,
    /// Vocabulary size (with --params).
    #[arg(long)]
    pub vocab: Option<u64>,
    /// Quantization mix, e.g. Q4_K_M (default with --model: the file as it is).
    #[arg(long)]
    pub quant: Option<String>,
    /// Context length in tokens (default: the model's trained context).
    #[arg(long)]
    pub ctx: Option<u64>,
    /// KV cache type for keys and values: f32, f16 (llama.cpp's default), q8_0, q4_0.
    #[arg(long, default_value = "f16")]
    pub cache_type: String,
    /// Memory to check against, e.g. 16GB (GB means GiB, as memory is sold).
    #[arg(long)]
    pub memory: Option<String>,
    /// The program that runs the model: locallm (this engine) or llama.cpp
    /// (also Ollama's); their scratch memory differs.
    #[arg(long, default_value = "locallm")]
    pub runtime: String,
}

pub fn run(args: Args) -> Result<()> {
    let mix = args.quant.as_deref().map(QuantMix::from_name).transpose()?;
    let cache = parse_cache_type(&args.cache_type)?;
    let runtime = parse_runtime(&args.runtime)?;
    let memory = args.memory.as_deref().map(parse_memory).transpose()?;
    let (name, shape, weights) = match &args.params {
        Some(params) => {
            let mix = mix.context("give --quant (e.g. Q4_K_M) with --params")?;
            let need = |v: Option<u64>| v.context("--params needs all of the shape flags");
            let shape = ModelShape {
                n_params: parse_count(params)?,
                n_layers: need(args.layers)?,
                n_heads: need(args.heads)?,
                n_kv_heads: need(args.kv_heads)?,
                head_dim: need(args.head_dim)?,
                n_vocab: need(args.vocab)?,
                n_ctx_train: None,
            };
            let weights = Weights::of_mix(shape.n_params, mix);
            (format!("{params}-parameter model"), shape, weights)
        }
        None => {
            let path = loaded::model_path(args.model.as_deref())?;
            let gguf = loaded::open_gguf(&path)?;
            let shape = ModelShape::from_gguf(&gguf)?;
            let weights = match mix {
                Some(mix) => Weights::of_file_as(&gguf, mix)?,
                None => Weights::of_file(&gguf),
            };
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            (name.into_owned(), shape, weights)
        }
    };
    let Some(ctx) = args.ctx.or(shape.n_ctx_train) else {
        bail!("give --ctx: the model does not say its context length");
    };
    let e = Estimate::new(shape, weights, runtime, ctx, cache, cache)?;
    print_estimate(&name, &e, &args.cache_type);

    if let Some(memory) = memory {
        println!();
        println!(
            "on {}: {}",
            format_bytes(memory),
            verdict(e.verdict(memory), e.max_context(memory))
        );
    }
    println!();
    println!(
        "{:<28} {:>10} {:>10}  {:<22} longest context",
        "machine", "memory", "usable", "verdict"
    );
    for row in tier_table(&e) {
        let max_ctx = row.max_context.map_or("-".into(), |c| c.to_string());
        let verdict = match row.verdict {
            Verdict::Fits { spare } => format!("fits, {} spare", format_bytes(spare)),
            Verdict::TooBig { short } => format!("{} short", format_bytes(short)),
        };
        println!(
            "{:<28} {:>10} {:>10}  {:<22} {max_ctx}",
            row.tier.name,
            format_bytes(row.tier.memory),
            format_bytes(row.tier.usable()),
            verdict,
        );
    }
    println!();
    println!("usable: system RAM minus 3 GiB for the OS, GPU memory minus 0.5 GiB for the");
    println!("driver, 3/4 of unified memory (macOS's default GPU limit): assumptions.");
    Ok(())
}

fn print_estimate(name: &str, e: &Estimate, cache_type: &str) {
    let s = &e.shape;
    println!(
        "{name}: {:.1}M parameters, {} layers, {} heads ({} KV) of {}, vocabulary {}",
        s.n_params as f64 / 1e6,
        s.n_layers,
        s.n_heads,
        s.n_kv_heads,
        s.head_dim,
        s.n_vocab
    );
    let w = &e.weights;
    println!(
        "weights   {:>12}  {:.2} bits/weight ({})",
        format_bytes(w.bytes),
        w.bits_per_weight,
        w.source
    );
    println!(
        "KV cache  {:>12}  {} positions x {} ({cache_type})",
        format_bytes(e.kv_cache),
        e.ctx,
        format_bytes(e.kv_per_token)
    );
    let batch = UBATCH.min(e.ctx);
    let scratch = match e.runtime {
        Runtime::Locallm => format!("the MLP's gate and up of a {batch}-token batch"),
        Runtime::LlamaCpp => format!("logits or attention scores of a {batch}-token batch"),
    };
    println!("scratch   {:>12}  {scratch}", format_bytes(e.scratch));
    let runtime = match e.runtime {
        Runtime::Locallm => "locallm",
        Runtime::LlamaCpp => "llama.cpp",
    };
    println!(
        "program   {:>12}  {runtime}: code, tokenizer, threads (measured)",
        format_bytes(e.program)
    );
    println!("total     {:>12}", format_bytes(e.total()));
}

fn verdict(v: Verdict, max_context: Option<u64>) -> String {
    let longest = match max_context {
        Some(c) => format!("; the longest context that fits is {c}"),
        None => "; not even the weights fit".into(),
    };
    match v {
        Verdict::Fits { spare } => format!("fits, {} spare{longest}", format_bytes(spare)),
        Verdict::TooBig { short } => {
            format!("does not fit, {} short{longest}", format_bytes(short))
        }
    }
}
