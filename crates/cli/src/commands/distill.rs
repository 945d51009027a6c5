//! `locallm distill`: train a small Llama student from a teacher (chapter 17.2).
//!
//! The student shares the teacher's tokenizer (same token ids, so their
//! distributions can be compared position by position). `--alpha 0` trains
//! the same student on the text alone: the baseline of the experiment.
//! Writes to `--out`: `checkpoint.safetensors`, `student.gguf`, `loss.json`,
//! `loss.svg` and `distill_log.json` (held-out perplexity of student and
//! teacher, the student's KL to the teacher, time).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use locallm_distill::{KdConfig, distill_batch_loss, kl_to_teacher};
use locallm_train::{
    Checkpoints, TokenSplit, TrainConfig, eval_loss, export_gguf, init_model, train_lm,
    write_loss_curve,
};
use serde_json::json;

use super::train::{Progress, prepare_out, read_texts, samples};
use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// Teacher GGUF (default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(long)]
    pub teacher: Option<PathBuf>,
    /// Student config (TOML, as for `locallm train`; its `vocab` is the teacher's).
    #[arg(long)]
    pub student_config: PathBuf,
    /// Training text (repeat to concatenate files); the last `held_out`
    /// fraction of it is kept for evaluation.
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Softening temperature T of both distributions.
    #[arg(long, default_value_t = 2.0)]
    pub temperature: f32,
    /// Weight of the teacher (KD) term; 1 - alpha goes to the true next token. 0: no teacher.
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f32,
    /// KL(student || teacher) instead of KL(teacher || student).
    #[arg(long)]
    pub reverse_kl: bool,
    /// Continue from `OUT/checkpoint.safetensors`.
    #[arg(long)]
    pub resume: bool,
}

pub fn run(args: Args) -> Result<()> {
    let t0 = Instant::now();
    if args.temperature.is_nan() || args.temperature <= 0.0 || !(0.0..=1.0).contains(&args.alpha) {
        bail!("--temperature must be > 0 and --alpha in [0, 1]");
    }
    let kd = KdConfig {
        temperature: args.temperature,
        alpha: args.alpha,
        reverse_kl: args.reverse_kl,
    };
    let teacher = loaded::load(args.teacher.as_deref())?;
    let mut cfg = TrainConfig::load(&args.student_config)?;
    cfg.vocab = teacher.model.config.vocab_size;
    let text = read_texts(&args.data)?;
    let checkpoint = prepare_out(&args.out, args.resume)?;
    let tokens = teacher.tokenizer.encode(&text, false)?;
    let data = TokenSplit::new(&tokens, cfg.held_out, cfg.ctx)?;
    let device = teacher.device.clone();
    let train_device = device.clone().autodiff();
    let teacher_loss = eval_loss(
        &teacher.model,
        &data.held_out,
        cfg.ctx,
        cfg.eval_windows,
        &device,
    );
    let n_params = cfg.llama().n_params() + cfg.vocab * cfg.d_model;
    eprintln!(
        "teacher {} ({} parameters): held-out perplexity {:.2}; student {} parameters; {} train / {} held-out tokens",
        teacher.name(),
        teacher.model.config.n_params(),
        (teacher_loss as f64).exp(),
        n_params,
        data.train.len(),
        data.held_out.len()
    );

    let student = init_model(&cfg.llama(), cfg.seed, &train_device);
    let run_id = json!({"config": cfg, "tokens": tokens.len(), "temperature": kd.temperature,
                        "alpha": kd.alpha, "reverse_kl": kd.reverse_kl});
    let mut progress = Progress::new(cfg.steps);
    let trained = train_lm(
        student,
        &data,
        &cfg,
        &device,
        run_id,
        Some(Checkpoints {
            path: &checkpoint,
            resume: args.resume,
        }),
        |m, w| distill_batch_loss(m, &teacher.model, w, &kd, &device, &train_device),
        |s| progress.step(s),
    )?;
    progress.finish();
    let student = trained.plain_model();
    let student_loss = eval_loss(&student, &data.held_out, cfg.ctx, cfg.eval_windows, &device);
    let kl = kl_to_teacher(
        &student,
        &teacher.model,
        &data.held_out,
        cfg.ctx,
        cfg.eval_windows,
        &device,
    );

    // the student speaks the teacher's tokenizer: copy its `tokenizer.*` keys
    let tokenizer_keys: Vec<_> = (teacher.gguf.metadata_in_file_order().into_iter())
        .filter(|(k, _)| k.starts_with("tokenizer."))
        .collect();
    let gguf = args.out.join("student.gguf");
    export_gguf(&student, "locallm-student", &tokenizer_keys, &gguf)?;
    let title = format!("Student, alpha = {}, T = {}", kd.alpha, kd.temperature);
    write_loss_curve(&args.out, &title, &trained.losses, &trained.eval_losses)?;
    let samples = samples(&gguf, "The ", 30)?;
    let log = json!({
        "teacher": teacher.name(), "config": cfg, "data": args.data,
        "temperature": kd.temperature, "alpha": kd.alpha, "reverse_kl": kd.reverse_kl,
        "tokens": tokens.len(), "train_tokens": data.train.len(), "held_out_tokens": data.held_out.len(),
        "tokens_trained": cfg.steps * cfg.batch * cfg.ctx,
        "student_parameters": n_params, "teacher_parameters": teacher.model.config.n_params(),
        "student_held_out_loss": student_loss, "student_held_out_perplexity": (student_loss as f64).exp(),
        "teacher_held_out_loss": teacher_loss, "teacher_held_out_perplexity": (teacher_loss as f64).exp(),
        "kl_to_teacher": kl,
        "losses": trained.losses, "eval_losses": trained.eval_losses,
        "train_seconds_this_run": progress.secs, "wall_seconds": t0.elapsed().as_secs_f64(),
        "peak_rss_bytes": super::finetune::peak_rss(),
        "samples": samples,
    });
    super::write_report(
        &args.out,
        "distill_log.json",
        serde_json::to_string_pretty(&log)?,
    )?;
    eprintln!(
        "done in {:.0} s; student held-out perplexity {:.2} (teacher {:.2}); KL to teacher {kl:.4} nats/token",
        t0.elapsed().as_secs_f64(),
        (student_loss as f64).exp(),
        (teacher_loss as f64).exp()
    );
    Ok(())
}
