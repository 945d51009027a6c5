//! `locallm eval --suite FILE [--model A --model B ...]`: score models on tasks.
//!
//! Every prompt goes through the model's chat template, the answer is decoded
//! greedily (so a run is reproducible and two models differ only by their
//! weights), and [`crate::suite::score`] marks it right or wrong. With several
//! `--model`s the table has one column per model: chapter 19 compares the
//! default model with its quantized and pruned variants this way.
//!
//! A base model has no chat template: `--raw` scores it (and, to compare, any
//! other model) on a plain-text few-shot prompt instead, [`RAW_SHOTS`] then
//! `Q: <prompt>` and `A:`, the same text for every model, and the answer is
//! the continuation's first line.

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
    /// GGUF file or model name; repeat to compare models (default: the default model).
    #[arg(short = 'm', long)]
    pub model: Vec<PathBuf>,
    /// At most this many tokens per answer.
    #[arg(long, default_value_t = 64)]
    pub max_tokens: usize,
    /// Print every answer and score as JSON.
    #[arg(long)]
    pub json: bool,
    /// No chat template: a plain few-shot prompt (for base models), the
    /// answer being the first line of the continuation.
    #[arg(long)]
    pub raw: bool,
}

/// The examples in front of every `--raw` prompt: one per task group of
/// evals/tasks.jsonl, none of them a question of the suite.
pub const RAW_SHOTS: &str = "Q: What is 4 + 4? Answer with the number only.\nA: 8\n\n\
Q: What is the capital of Portugal?\nA: The capital of Portugal is Lisbon.\n\n\
Q: Write the word cat in capital letters and nothing else.\nA: CAT\n\n\
Q: Return a JSON object with the key \"id\" set to the number 7. Output only JSON.\nA: {\"id\": 7}\n\n";

#[derive(Serialize)]
struct ModelRun {
    model: PathBuf,
    /// "chat" (the model's template) or "raw" (few-shot text, [`RAW_SHOTS`]).
    mode: &'static str,
    correct: usize,
    total: usize,
    seconds: f64,
    items: Vec<Answer>,
}

#[derive(Serialize)]
struct Answer {
    id: String,
    /// `--raw`: the whole text the model continued.
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<String>,
    score: Scoring,
    answer: String,
    correct: bool,
}

pub fn run(args: Args) -> Result<()> {
    let text = std::fs::read_to_string(&args.suite)
        .with_context(|| format!("cannot read {}", args.suite.display()))?;
    let items =
        parse_suite(&text).with_context(|| format!("bad suite {}", args.suite.display()))?;
    // names resolved to files, so that the report says which file was scored
    let models = if args.model.is_empty() {
        vec![loaded::model_path(None)?]
    } else {
        let paths = args.model.iter().map(|m| loaded::model_path(Some(m)));
        paths.collect::<Result<Vec<_>>>()?
    };
    let mut runs = Vec::new();
    for path in &models {
        eprintln!("evaluating {}", path.display());
        runs.push(run_model(path, &items, args.max_tokens, args.raw)?);
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
fn run_model(path: &Path, items: &[Item], max_tokens: usize, raw: bool) -> Result<ModelRun> {
    let l = loaded::load_for_inference(Some(path))?;
    let template = if raw {
        None
    } else {
        Some(l.tokenizer.chat_template()?)
    };
    let ctx = l.model.config.context_length.min(2048);
    let mut session = Session::new(&l.model, ctx, &l.device);
    let t0 = Instant::now();
    let mut answers = Vec::new();
    for item in items {
        // chat: message content is text (chat_ids); raw: a plain few-shot text
        let (ids, prompt) = match &template {
            Some(t) => (
                l.tokenizer.chat_ids(t, &[Message::user(&item.prompt)])?,
                None,
            ),
            None => {
                let prompt = format!("{RAW_SHOTS}Q: {}\nA:", item.prompt);
                (l.tokenizer.encode_prompt(&prompt)?, Some(prompt))
            }
        };
        let opts = GenerateOptions {
            max_tokens,
            sampler: SamplerConfig::greedy(),
            stop_tokens: l.tokenizer.stop_tokens().to_vec(),
        };
        let mut tokens: Vec<u32> = Vec::new();
        for token in session.generate(&ids, opts)? {
            tokens.push(token);
            // raw: the answer ends with its line (the model would go on with
            // another question); decoding a few dozen tokens again is cheap
            if raw && l.tokenizer.decode(&tokens).is_ok_and(|t| t.contains('\n')) {
                break;
            }
        }
        let mut answer = l.tokenizer.decode(&tokens)?;
        if raw {
            answer = answer.lines().next().unwrap_or("").trim().to_string();
        }
        answers.push(Answer {
            id: item.id.clone(),
            prompt,
            score: item.score,
            correct: score(item, &answer),
            answer,
        });
    }
    Ok(ModelRun {
        model: path.to_path_buf(),
        mode: if raw { "raw" } else { "chat" },
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
