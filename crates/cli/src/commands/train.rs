//! `locallm train`: train a tiny Llama from scratch on a text file
//! (chapter 4), or `--toys`: the figures of chapters 1–3.
//!
//! Writes to `--out`: `checkpoint.safetensors` (resumable), `model.gguf`
//! (loads in `locallm generate` and llama.cpp), `loss.json`, `loss.svg`
//! and `train_log.json` (perplexity, time, samples at several temperatures).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};
use locallm_infer::{GenerateOptions, SamplerConfig, Session};
use locallm_train::{
    Checkpoints, StepInfo, TokenSplit, TrainConfig, export_gguf, init_model, next_token_loss,
    train_lm, write_loss_curve,
};
use serde_json::json;

use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// Run config (TOML: layers, d_model, heads, kv_heads, ffn, ctx, vocab, steps, lr, batch, seed).
    #[arg(long, required_unless_present = "toys")]
    pub config: Option<PathBuf>,
    /// Training text (UTF-8; repeat to concatenate files); the last `held_out`
    /// fraction of it is kept for perplexity.
    #[arg(long, required_unless_present = "toys")]
    pub data: Vec<PathBuf>,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from `OUT/checkpoint.safetensors`.
    #[arg(long)]
    pub resume: bool,
    /// Instead of a model: chapters 1–3's toys (line, MLP, label noise, FLOPs) into `--out`.
    #[arg(long)]
    pub toys: bool,
    /// Prompt for the samples written at the end.
    #[arg(long, default_value = "The ")]
    pub prompt: String,
}

/// The progress bar of a training run, and the training time it has seen.
pub struct Progress {
    bar: ProgressBar,
    tokens: usize,
    /// Seconds spent in training steps (without evaluation and checkpoints).
    pub secs: f64,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
            )
            .expect("template"),
        );
        Progress {
            bar,
            tokens: 0,
            secs: 0.0,
        }
    }

    /// Shows one step (or one log line per step when not a terminal); `true`: go on.
    pub fn step(&mut self, s: &StepInfo) -> bool {
        self.tokens += s.tokens;
        self.secs += s.elapsed.as_secs_f64();
        let bar = &self.bar;
        bar.set_position(s.step as u64);
        let eval = (s.eval_loss)
            .map(|e| format!(" · held-out ppl {:.1}", (e as f64).exp()))
            .unwrap_or_default();
        bar.set_message(format!(
            "loss {:.3}{eval} · lr {:.1e} · {:.0} tok/s",
            s.loss,
            s.lr,
            self.tokens as f64 / self.secs.max(1e-9)
        ));
        let line = match s.eval_loss {
            Some(e) => format!(
                "step {}: loss {:.4}, held-out loss {e:.4} (perplexity {:.2})",
                s.step,
                s.loss,
                (e as f64).exp()
            ),
            None => format!("step {}: loss {:.4}", s.step, s.loss),
        };
        if bar.is_hidden() {
            eprintln!("{line}");
        } else if s.eval_loss.is_some() {
            bar.println(line);
        }
        true
    }

    pub fn finish(&self) {
        self.bar.finish();
    }
}

/// Continuations of `prompt` by the model in `gguf` at several temperatures
/// (0 = greedy), read back through the same loader `locallm generate` uses.
pub fn samples(gguf: &Path, prompt: &str, max_tokens: usize) -> Result<Vec<serde_json::Value>> {
    let l = loaded::load(Some(gguf))?;
    let ids = l.tokenizer.encode(prompt, false)?;
    let mut out = Vec::new();
    for temperature in [0.0f32, 0.7, 1.0, 1.5] {
        let mut session = Session::new(&l.model, ids.len() + max_tokens, &l.device);
        let opts = GenerateOptions {
            max_tokens,
            sampler: SamplerConfig {
                temperature,
                top_k: 0,
                top_p: 1.0,
                min_p: 0.0,
                ..SamplerConfig::default()
            },
            stop_tokens: l.tokenizer.stop_tokens().to_vec(),
        };
        let generated: Vec<u32> = session.generate(&ids, opts)?.collect();
        let text = format!("{prompt}{}", l.tokenizer.decode(&generated)?);
        eprintln!("T = {temperature}: {text:?}");
        out.push(json!({"temperature": temperature, "text": text}));
    }
    Ok(out)
}

/// The files, read as UTF-8 and joined by a blank line.
pub fn read_texts(paths: &[PathBuf]) -> Result<String> {
    let texts = (paths.iter())
        .map(|p| {
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {} as UTF-8 text", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(texts.join("\n\n"))
}

/// Refuses to overwrite a run unless `--resume`.
pub fn prepare_out(out: &Path, resume: bool) -> Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let checkpoint = out.join("checkpoint.safetensors");
    if !resume && checkpoint.exists() {
        bail!(
            "{} exists: pass --resume to continue it, or choose another --out",
            checkpoint.display()
        );
    }
    Ok(checkpoint)
}

pub fn run(args: Args) -> Result<()> {
    if args.toys {
        std::fs::create_dir_all(&args.out)?;
        let device = crate::loaded::device()?;
        let numbers = locallm_train::toys::write_figures(&args.out, &device)?;
        let text = serde_json::to_string_pretty(&numbers)?;
        println!("{text}");
        return super::write_report(&args.out, "toys.json", text);
    }
    let config = args.config.as_ref().expect("clap: required without --toys");
    let t0 = Instant::now();
    let mut cfg = TrainConfig::load(config)?;
    let text = read_texts(&args.data)?;
    let checkpoint = prepare_out(&args.out, args.resume)?;

    // ANCHOR: train_tokenizer
    // the tokenizer is trained on the training part only: held-out text must stay unseen
    let cut = text.len() - (text.len() as f64 * cfg.held_out as f64) as usize;
    let cut = (cut..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    let bpe = locallm_tokenizer::train_bpe(&text[..cut], cfg.vocab, "gpt-2", &["<|endoftext|>"])?;
    let tokenizer = bpe.tokenizer()?;
    let tokens = tokenizer.encode(&text, false)?;
    cfg.vocab = bpe.tokens.len(); // fewer when the text has fewer repeated pairs
    // ANCHOR_END: train_tokenizer
    let bpe_seconds = t0.elapsed().as_secs_f64();
    let data_split = TokenSplit::new(&tokens, cfg.held_out, cfg.ctx)?;
    let n_params = cfg.llama().n_params() + cfg.vocab * cfg.d_model; // untied output
    eprintln!(
        "{} bytes -> {} tokens ({:.2} bytes/token, vocabulary {}); {} train / {} held out; {} parameters",
        text.len(),
        tokens.len(),
        text.len() as f64 / tokens.len() as f64,
        cfg.vocab,
        data_split.train.len(),
        data_split.held_out.len(),
        n_params
    );

    let device = crate::loaded::device()?;
    let train_device = device.clone().autodiff();
    let model = init_model(&cfg.llama(), cfg.seed, &train_device);
    let run_id = json!({"config": cfg, "tokens": tokens.len()});
    let mut progress = Progress::new(cfg.steps);
    let trained = train_lm(
        model,
        &data_split,
        &cfg,
        &device,
        run_id,
        Some(Checkpoints {
            path: &checkpoint,
            resume: args.resume,
        }),
        |m, w| next_token_loss(m, w, &train_device),
        |s| progress.step(s),
    )?;
    progress.finish();
    if let Some(step) = trained.resumed_from {
        eprintln!("resumed from step {step}");
    }
    let model = trained.plain_model();
    let gguf = args.out.join("model.gguf");
    export_gguf(&model, "locallm-tiny", &bpe.gguf_metadata(), &gguf)?;
    write_loss_curve(
        &args.out,
        "Training a tiny Llama from scratch",
        &trained.losses,
        &trained.eval_losses,
    )?;
    let held_out = trained.eval_losses.last().map(|&(_, l)| l);
    let samples = samples(&gguf, &args.prompt, 40)?;
    let log = json!({
        "config": cfg, "data": args.data,
        "text_bytes": text.len(), "tokens": tokens.len(),
        "train_tokens": data_split.train.len(), "held_out_tokens": data_split.held_out.len(),
        "parameters": n_params,
        "train_flops": locallm_train::toys::train_flops(n_params, cfg.steps * cfg.batch * cfg.ctx),
        "held_out_loss": held_out, "held_out_perplexity": held_out.map(|l| (l as f64).exp()),
        "losses": trained.losses, "eval_losses": trained.eval_losses,
        "bpe_seconds": bpe_seconds,
        "train_seconds_this_run": progress.secs, "wall_seconds": t0.elapsed().as_secs_f64(),
        "peak_rss_bytes": super::finetune::peak_rss(),
        "samples": samples,
    });
    super::write_report(
        &args.out,
        "train_log.json",
        serde_json::to_string_pretty(&log)?,
    )?;
    eprintln!(
        "done in {:.0} s; held-out perplexity {:.2}; model in {}",
        t0.elapsed().as_secs_f64(),
        held_out.map(|l| (l as f64).exp()).unwrap_or(f64::NAN),
        gguf.display()
    );
    Ok(())
}
