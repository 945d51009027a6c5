//! `locallm perplexity`: llama-perplexity's number, computed by our engine.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};

use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF model file (default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The text to score.
    #[arg(long)]
    pub file: PathBuf,
    /// Tokens per chunk (llama-perplexity's -c).
    #[arg(long, default_value_t = 512)]
    pub ctx: usize,
    /// Print {"ppl": .., "tokens_scored": .., "chunks": ..} as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let l = loaded::load(args.model.as_deref())?;
    let tokens = l.tokenizer.encode_prompt(&text)?;
    let bos = l.tokenizer.bos_id().filter(|_| l.tokenizer.add_bos_token());
    let bar = ProgressBar::new((tokens.len() / args.ctx) as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} chunks, {msg} [{elapsed}<{eta}]")
            .expect("valid template"),
    );
    let result =
        locallm_infer::perplexity(&l.model, &tokens, args.ctx, bos, &l.device, |_, _, ppl| {
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
