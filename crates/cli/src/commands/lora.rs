//! `locallm lora merge|eval`: use a trained adapter.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use locallm_infer::{GenerateOptions, SamplerConfig, Session};
use locallm_lora::data::parse_jsonl;
use serde_json::json;

use locallm_model::{Device, Llama};

use crate::loaded::{self, Loaded};

#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Fold an adapter into the weights and write a GGUF.
    Merge(MergeArgs),
    /// Exact-match accuracy of greedy answers on chat JSONL (with or without an adapter).
    Eval(EvalArgs),
}

#[derive(ClapArgs)]
pub struct MergeArgs {
    /// The GGUF the adapter was trained on (default: SmolLM2-135M-Instruct).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// Adapter directory (PEFT layout).
    #[arg(long)]
    pub lora: PathBuf,
    /// Output GGUF; merged projections are stored as F32.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(ClapArgs)]
pub struct EvalArgs {
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// Adapter directory; without it the base model is evaluated.
    #[arg(long)]
    pub lora: Option<PathBuf>,
    /// JSONL whose last assistant message is the expected answer.
    #[arg(long)]
    pub data: PathBuf,
    /// At most this many tokens per answer.
    #[arg(long, default_value_t = 96)]
    pub max_tokens: usize,
    /// Write every prompt, answer and expected answer here (JSONL).
    #[arg(long)]
    pub outputs: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Merge(a) => merge(a),
        Command::Eval(a) => eval(a),
    }
}

/// The loaded model with the adapter in `dir` attached (unmerged), if any.
pub fn with_lora(mut l: Loaded, dir: Option<&Path>) -> Result<Loaded> {
    if let Some(dir) = dir {
        l.model = attach_dir(l.model, dir, &l.device)?;
    }
    Ok(l)
}

/// `model` with the adapter in `dir` attached (unmerged).
pub fn attach_dir(model: Llama, dir: &Path, device: &Device) -> Result<Llama> {
    let (model, cfg) = locallm_lora::load_adapter(model, dir, device)
        .with_context(|| format!("cannot load the adapter in {}", dir.display()))?;
    eprintln!(
        "LoRA adapter {} (rank {}, {} modules per layer)",
        dir.display(),
        cfg.rank,
        cfg.targets.len()
    );
    Ok(model)
}

fn merge(args: MergeArgs) -> Result<()> {
    let l = with_lora(loaded::load(args.model.as_deref())?, Some(&args.lora))?;
    let adapted = locallm_lora::finetune::adapted(&l.model);
    let merged = locallm_lora::merge(l.model);
    locallm_lora::export_merged_gguf(&l.gguf, &merged, &adapted, &args.out)?;
    eprintln!(
        "merged {} projections into {}",
        adapted.len(),
        args.out.display()
    );
    Ok(())
}

fn eval(args: EvalArgs) -> Result<()> {
    let l = with_lora(loaded::load(args.model.as_deref())?, args.lora.as_deref())?;
    let text = std::fs::read_to_string(&args.data)
        .with_context(|| format!("cannot read {}", args.data.display()))?;
    let (conversations, bad) = parse_jsonl(&text);
    for e in &bad {
        eprintln!("warning: {}: skipped {e}", args.data.display());
    }
    let template = l.tokenizer.chat_template()?;
    let mut session = Session::new(&l.model, l.model.config.context_length.min(2048), &l.device);
    let mut outputs = match &args.outputs {
        Some(p) => Some(std::fs::File::create(p)?),
        None => None,
    };
    let (mut correct, mut total) = (0usize, 0usize);
    let t0 = Instant::now();
    for (_, messages) in &conversations {
        // everything before the last assistant message is the prompt
        let last = messages
            .iter()
            .rposition(|m| m.role == "assistant")
            .expect("parsed");
        let ids = l.tokenizer.chat_ids(&template, &messages[..last])?;
        let opts = GenerateOptions {
            max_tokens: args.max_tokens,
            sampler: SamplerConfig {
                temperature: 0.0, // greedy
                ..SamplerConfig::default()
            },
            stop_tokens: l.tokenizer.stop_tokens().to_vec(),
        };
        let answer: Vec<u32> = session.generate(&ids, opts)?.collect();
        let answer = l.tokenizer.decode(&answer)?;
        let expected = &messages[last].content;
        let ok = answer.trim() == expected.trim();
        correct += ok as usize;
        total += 1;
        if let Some(f) = outputs.as_mut() {
            let row = json!({"prompt": messages[last - 1].content, "answer": answer, "expected": expected, "correct": ok});
            writeln!(f, "{row}")?;
        }
    }
    let accuracy = correct as f64 / total.max(1) as f64;
    eprintln!(
        "{correct}/{total} exact matches in {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    println!(
        "{}",
        json!({"correct": correct, "total": total, "accuracy": accuracy,
               "lora": args.lora, "data": args.data,
               "seconds": t0.elapsed().as_secs_f64()})
    );
    Ok(())
}
