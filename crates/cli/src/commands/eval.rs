//! `locallm eval --suite FILE [--model A --model B ...]`: score models on tasks.
//!
//! Every prompt goes through the model's chat template, the answer is decoded
//! greedily (so a run is reproducible and two models differ only by their
//! weights), and [`crate::suite::score`] marks it right or wrong. With several
//! `--model`s the table has one column per model: chapter 19 compares the
//! default model with its quantized and pruned variants this way.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use locallm_infer::{GenerateOptions, SamplerConfig, Session};
use locallm_tokenizer::Message;
use serde::Serialize;

use crate::loaded;
use crate::suite::{Item, Scoring, parse_suite, score};

#[derive(ClapArgs)]
pub struct Args {
    /// The suite: JSONL of {"id", "prompt", "score": exact|contains|json, "expected"}.
    #[arg(long)]
    pub suite: PathBuf,
    /// GGUF model file; repeat to compare models (default: the default model).
    #[arg(short = 'm', long)]
    pub model: Vec<PathBuf>,
    /// At most this many tokens per answer.
    #[arg(long, default_value_t = 64)]
    pub max_tokens: usize,
    /// Print every answer and score as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct ModelRun {
    model: PathBuf,
    correct: usize,
    total: usize,
    seconds: f64,
    items: Vec<Answer>,
}

#[derive(Serialize)]
struct Answer {
    id: String,
    score: Scoring,
    answer: String,
    correct: bool,
}

pub fn run(args: Args) -> Result<()> {
    let text = std::fs::read_to_string(&args.suite)
        .with_context(|| format!("cannot read {}", args.suite.display()))?;
    let items =
        parse_suite(&text).with_context(|| format!("bad suite {}", args.suite.display()))?;
    let models = if args.model.is_empty() {
        vec![loaded::model_path(None)?]
    } else {
        args.model.clone()
    };
    let mut runs = Vec::new();
    for path in &models {
        eprintln!("evaluating {}", path.display());
        runs.push(run_model(path, &items, args.max_tokens)?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    } else {
        print_table(&items, &runs);
    }
    Ok(())
}

// ANCHOR: run_model
/// Greedy answers of one model to every item, scored.
fn run_model(path: &Path, items: &[Item], max_tokens: usize) -> Result<ModelRun> {
    let l = loaded::load_for_inference(Some(path))?;
    let template = l.tokenizer.chat_template()?;
    let ctx = l.model.config.context_length.min(2048);
    let mut session = Session::new(&l.model, ctx, &l.device);
    let t0 = Instant::now();
    let mut answers = Vec::new();
    for item in items {
        let ids = l
            .tokenizer
            .chat_ids(&template, &[Message::user(&item.prompt)])?;
        let opts = GenerateOptions {
            max_tokens,
            sampler: SamplerConfig::greedy(),
            stop_tokens: l.tokenizer.stop_tokens().to_vec(),
        };
        let tokens: Vec<u32> = session.generate(&ids, opts)?.collect();
        let answer = l.tokenizer.decode(&tokens)?;
        answers.push(Answer {
            id: item.id.clone(),
            score: item.score,
            correct: score(item, &answer),
            answer,
        });
    }
    Ok(ModelRun {
        model: path.to_path_buf(),
        correct: answers.iter().filter(|a| a.correct).count(),
        total: answers.len(),
        seconds: t0.elapsed().as_secs_f64(),
        items: answers,
    })
}
// ANCHOR_END: run_model

fn print_table(items: &[Item], runs: &[ModelRun]) {
    let name = |r: &ModelRun| {
        let n = r.model.file_name().unwrap_or_default().to_string_lossy();
        n.trim_end_matches(".gguf").to_string()
    };
    for (i, r) in runs.iter().enumerate() {
        println!("[{}] {}", i + 1, r.model.display());
    }
    let heads: Vec<String> = (1..=runs.len()).map(|i| format!("[{i}]")).collect();
    println!("{:<14} {:<9} {}", "item", "scoring", heads.join(" "));
    for (k, item) in items.iter().enumerate() {
        let marks: Vec<String> = runs
            .iter()
            .map(|r| format!("{:>3}", if r.items[k].correct { "ok" } else { "-" }))
            .collect();
        let kind = format!("{:?}", item.score).to_lowercase();
        println!("{:<14} {:<9} {}", item.id, kind, marks.join(" "));
    }
    println!();
    for r in runs {
        println!(
            "{}: {}/{} ({:.0}%) in {:.1} s",
            name(r),
            r.correct,
            r.total,
            100.0 * r.correct as f64 / r.total.max(1) as f64,
            r.seconds
        );
    }
}
