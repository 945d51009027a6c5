//! `locallm finetune`: train a LoRA (or QLoRA) adapter on chat JSONL.
//!
//! Writes to `--out`: the PEFT adapter (`adapter_config.json`,
//! `adapter_model.safetensors`), the resumable `checkpoint.safetensors`,
//! `loss.svg` and `train_log.json` (losses, time, memory).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};
use locallm_lora::{FinetuneConfig, LoraConfig, Target, load_jsonl};
use locallm_plot::{Chart, Series, line_chart};
use serde_json::json;

use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF file or model name (see `locallm list`; default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// Training data: chat JSONL (`{"messages": [...]}`) or `{"prompt", "completion"}` lines.
    #[arg(long)]
    pub data: PathBuf,
    /// Held-out data in the same format, for the evaluation loss.
    #[arg(long)]
    pub eval: Option<PathBuf>,
    /// Output directory (adapter, checkpoint, loss curve, log).
    #[arg(long)]
    pub out: PathBuf,
    /// QLoRA: hold the frozen base in NF4.
    #[arg(long)]
    pub qlora: bool,
    /// Rank r of the adapters.
    #[arg(long, default_value_t = 8)]
    pub rank: usize,
    /// alpha: the update is scaled by alpha / r.
    #[arg(long, default_value_t = 16.0)]
    pub alpha: f32,
    /// rsLoRA scaling, alpha / sqrt(r).
    #[arg(long)]
    pub rslora: bool,
    /// Projections to adapt, comma-separated.
    #[arg(long, default_value = "q,k,v,o,gate,up,down")]
    pub targets: String,
    /// Optimizer steps.
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    /// Examples per step (gradient accumulation).
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Peak learning rate (after warm-up, then cosine decay to a tenth).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// Warm-up steps.
    #[arg(long, default_value_t = 10)]
    pub warmup: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Checkpoint every N steps (and at the end).
    #[arg(long, default_value_t = 25)]
    pub checkpoint_every: usize,
    /// Held-out loss every N steps (and at the end).
    #[arg(long, default_value_t = 25)]
    pub eval_every: usize,
    /// Continue from `OUT/checkpoint.safetensors`.
    #[arg(long)]
    pub resume: bool,
    /// Longest example in tokens; longer lines are bad lines.
    #[arg(long, default_value_t = 512)]
    pub max_len: usize,
    /// Reject the whole file on any bad line (default: report and skip).
    #[arg(long)]
    pub strict: bool,
}

/// Peak resident memory of this process so far, in bytes (Linux).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn load_data(
    path: &Path,
    tok: &locallm_tokenizer::Tokenizer,
    args: &Args,
) -> Result<Vec<locallm_lora::Example>> {
    let (examples, bad) = load_jsonl(path, tok, args.max_len, args.strict)?;
    for e in &bad {
        eprintln!("warning: {}: skipped {e}", path.display());
    }
    Ok(examples)
}

pub fn run(args: Args) -> Result<()> {
    let t0 = Instant::now();
    let l = loaded::load(args.model.as_deref())?;
    let train = load_data(&args.data, &l.tokenizer, &args)?;
    let eval = match &args.eval {
        Some(p) => load_data(p, &l.tokenizer, &args)?,
        None => Vec::new(),
    };
    let cfg = FinetuneConfig {
        lora: LoraConfig {
            rank: args.rank,
            alpha: args.alpha,
            rslora: args.rslora,
            targets: Target::parse_list(&args.targets)?,
        },
        qlora: args.qlora,
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        warmup: args.warmup,
        seed: args.seed,
        checkpoint_every: args.checkpoint_every,
        eval_every: args.eval_every,
        ..FinetuneConfig::default()
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let checkpoint = args.out.join("checkpoint.safetensors");
    if !args.resume && checkpoint.exists() {
        bail!(
            "{} exists: pass --resume to continue it, or choose another --out",
            checkpoint.display()
        );
    }
    let name = l.name().to_string();
    let per_layer = locallm_lora::attach::count_trainable_for(&l.model.config, &cfg.lora);
    eprintln!(
        "{} train / {} held-out examples; {} trainable parameters (rank {}, {}){}",
        train.len(),
        eval.len(),
        per_layer,
        cfg.lora.rank,
        args.targets,
        if cfg.qlora { "; base in NF4" } else { "" }
    );

    let bar = ProgressBar::new(cfg.steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
        )
        .expect("template"),
    );
    let (mut tokens, mut secs) = (0usize, 0f64);
    let device = l.device.clone();
    let base_model = l.model;
    let dense_bytes = locallm_lora::base_bytes(&base_model);
    let result = locallm_lora::finetune(
        base_model,
        &train,
        &eval,
        &cfg,
        &device,
        Some(locallm_lora::Checkpoints {
            path: &checkpoint,
            resume: args.resume,
        }),
        |s| {
            tokens += s.tokens;
            secs += s.elapsed.as_secs_f64();
            bar.set_position(s.step as u64);
            let eval = s
                .eval_loss
                .map(|e| format!(" · eval {e:.3}"))
                .unwrap_or_default();
            bar.set_message(format!(
                "loss {:.3}{eval} · lr {:.1e} · {:.0} tok/s",
                s.loss,
                s.lr,
                tokens as f64 / secs.max(1e-9)
            ));
            let line = match s.eval_loss {
                Some(e) => format!("step {}: loss {:.4}, held-out loss {e:.4}", s.step, s.loss),
                None => format!("step {}: loss {:.4}", s.step, s.loss),
            };
            if bar.is_hidden() {
                eprintln!("{line}"); // not a terminal (a log file): one line per step
            } else if s.eval_loss.is_some() {
                bar.println(line);
            }
            true
        },
    )?;
    bar.finish();
    if let Some(step) = result.resumed_from {
        eprintln!("resumed from step {step}");
    }
    let model_bytes = locallm_lora::base_bytes(&result.model);
    locallm_lora::save_adapter(&result.model, &cfg.lora, &name, &args.out)?;

    let train_curve = Series {
        name: "training loss".into(),
        points: (result.losses.iter().enumerate())
            .map(|(i, &l)| ((i + 1) as f64, l as f64))
            .collect(),
    };
    let eval_curve = Series {
        name: "held-out loss".into(),
        points: (result.eval_losses.iter())
            .map(|&(s, l)| (s as f64, l as f64))
            .collect(),
    };
    let mut series = vec![train_curve];
    if !eval_curve.points.is_empty() {
        series.push(eval_curve);
    }
    // log scale: the loss falls by three orders of magnitude
    let chart = Chart::new("LoRA fine-tuning", "step", "loss per answer token").log_y();
    line_chart(args.out.join("loss.svg"), &chart, &series)?;

    let log = json!({
        "model": name,
        "rank": cfg.lora.rank, "alpha": cfg.lora.alpha, "targets": args.targets,
        "qlora": cfg.qlora, "steps": cfg.steps, "batch": cfg.batch, "lr": cfg.lr,
        "seed": cfg.seed, "train_examples": train.len(), "eval_examples": eval.len(),
        "trainable_params": per_layer,
        "losses": result.losses, "eval_losses": result.eval_losses,
        "train_seconds_this_run": secs, "tokens_this_run": tokens,
        "wall_seconds": t0.elapsed().as_secs_f64(),
        "peak_rss_bytes": peak_rss(),
        "weights_bytes_dense": dense_bytes, "weights_bytes_training": model_bytes,
    });
    let log_path = args.out.join("train_log.json");
    locallm_train::write_atomic(&log_path, serde_json::to_string_pretty(&log)?.as_bytes())?;
    eprintln!(
        "done in {:.0} s; peak memory {:.0} MiB; weights {:.0} MiB (dense {:.0} MiB); adapter in {}",
        t0.elapsed().as_secs_f64(),
        peak_rss().unwrap_or(0) as f64 / 1048576.0,
        model_bytes as f64 / 1048576.0,
        dense_bytes as f64 / 1048576.0,
        args.out.display()
    );
    Ok(())
}
