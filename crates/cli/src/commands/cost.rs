//! `locallm cost`: what a workload of tokens costs through a priced API,
//! and how many tokens a file is for a model's tokenizer.
//!
//! `--count FILE` tokenizes the file with each `--model` (several show how
//! two tokenizers cut one text differently); the count of the first becomes
//! the input tokens when prices are given.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use locallm_sizing::{TokenPrices, Workload};

use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// Input (prompt) tokens of the workload.
    #[arg(long, conflicts_with = "count")]
    pub input_tokens: Option<u64>,
    /// Output (generated) tokens of the workload.
    #[arg(long, default_value_t = 0)]
    pub output_tokens: u64,
    /// Price per million input tokens.
    #[arg(long)]
    pub price_in: Option<f64>,
    /// Price per million output tokens.
    #[arg(long)]
    pub price_out: Option<f64>,
    /// Price per million input tokens read from the prompt cache.
    #[arg(long)]
    pub price_cached: Option<f64>,
    /// Share of the input tokens that hit the prompt cache, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub cached_share: f64,
    /// Count the tokens of this text file (they become the input tokens).
    #[arg(long)]
    pub count: Option<PathBuf>,
    /// GGUF model whose tokenizer counts (default: SmolLM2-135M-Instruct);
    /// may be given several times.
    #[arg(short = 'm', long)]
    pub model: Vec<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let mut input_tokens = args.input_tokens;
    if let Some(path) = &args.count {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let models = if args.model.is_empty() {
            vec![loaded::model_path(None)?]
        } else {
            (args.model.iter())
                .map(|m| loaded::model_path(Some(m)))
                .collect::<Result<_>>()?
        };
        println!(
            "{}: {} bytes, {} characters",
            path.display(),
            text.len(),
            text.chars().count()
        );
        for model in &models {
            let gguf = loaded::open_gguf(model)?;
            // the text as it is, without BOS: what an API bills for it
            let n = loaded::tokenizer(&gguf)?.encode(&text, false)?.len() as u64;
            let per_token = text.len() as f64 / n.max(1) as f64;
            let name = model.file_name().unwrap_or_default().to_string_lossy();
            println!("{n:>10} tokens  {per_token:.2} bytes/token  {name}");
            input_tokens.get_or_insert(n);
        }
        if args.price_in.is_none() && args.price_out.is_none() {
            return Ok(());
        }
    }
    let (Some(input_tokens), Some(input), Some(output)) =
        (input_tokens, args.price_in, args.price_out)
    else {
        bail!("give --input-tokens (or --count FILE), --price-in and --price-out");
    };
    let cached_input = match (args.price_cached, args.cached_share > 0.0) {
        (Some(p), _) => p,
        (None, false) => input,
        (None, true) => bail!("give --price-cached with --cached-share"),
    };
    let workload = Workload {
        input_tokens,
        output_tokens: args.output_tokens,
        cached_share: args.cached_share,
    };
    let prices = TokenPrices {
        input,
        output,
        cached_input,
    };
    let cost = workload.cost(&prices)?;
    let cached = (input_tokens as f64 * args.cached_share).round() as u64;
    println!(
        "input          {:>12} tokens x {input:>8.4} /M = {:>12.4}",
        input_tokens - cached,
        cost.uncached_input
    );
    println!(
        "cached input   {cached:>12} tokens x {cached_input:>8.4} /M = {:>12.4}",
        cost.cached_input
    );
    println!(
        "output         {:>12} tokens x {output:>8.4} /M = {:>12.4}",
        args.output_tokens, cost.output
    );
    println!("total          {:>47.4}", cost.total());
    Ok(())
}
