//! `locallm prune IN.gguf OUT.gguf --method magnitude|wanda|structured`:
//! prune a model and write it as GGUF (the library does the work:
//! `locallm_prune::prune` and `save_pruned`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use locallm_model::Device;
use locallm_prune::{Pattern, PruneSpec, Score, Target, TensorReport};
use locallm_tokenizer::Tokenizer;

use crate::loaded;

#[derive(Clone, Copy, ValueEnum)]
pub enum Method {
    /// Zero the smallest |W| of each matrix.
    Magnitude,
    /// Zero the smallest |W|·‖X‖ of each output row (needs --calib).
    Wanda,
    /// Remove whole FFN channels and KV head groups (the model shrinks).
    Structured,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ScoreArg {
    Magnitude,
    Wanda,
}

#[derive(ClapArgs)]
pub struct Args {
    /// Input GGUF model.
    pub input: PathBuf,
    /// Output GGUF file (pruned matrices in F32, everything else copied).
    pub output: PathBuf,
    #[arg(long, value_enum)]
    pub method: Method,
    /// Fraction of weights to remove, in [0, 1) (default 0.5). For
    /// structured: the fraction of FFN channels and of KV head groups.
    #[arg(long, allow_hyphen_values = true)]
    pub sparsity: Option<f64>,
    /// Semi-structured N:M instead of --sparsity: keep N of every M weights (2:4, 4:8).
    #[arg(long, value_name = "N:M")]
    pub nm: Option<String>,
    /// For --method structured: how units are scored (default: wanda with --calib, else magnitude).
    #[arg(long, value_enum)]
    pub score: Option<ScoreArg>,
    /// Calibration text (Wanda scores).
    #[arg(long, value_name = "FILE")]
    pub calib: Option<PathBuf>,
    /// Calibration tokens taken from the start of --calib.
    #[arg(long, default_value_t = 4096)]
    pub calib_tokens: usize,
    /// Length of each calibration sequence.
    #[arg(long, default_value_t = 256)]
    pub calib_seq: usize,
}

pub fn run(args: Args) -> Result<()> {
    let spec = spec(&args)?;
    spec.validate()?;
    if args.input.canonicalize().ok() == args.output.canonicalize().ok() && args.output.exists() {
        bail!("OUT must differ from IN ({})", args.input.display());
    }
    let gguf = loaded::open_gguf(&args.input)?;
    let device = crate::loaded::device()?;
    let mut model = locallm_model::load_llama(&gguf, &device)
        .with_context(|| format!("cannot load the weights of {}", args.input.display()))?;
    let calib = match (spec.score, &args.calib) {
        (Score::Wanda, None) => bail!("{spec} needs calibration text: --calib FILE"),
        (Score::Wanda, Some(path)) => {
            let tokenizer = loaded::tokenizer(&gguf)?;
            let (n, seq) = (args.calib_tokens, args.calib_seq);
            Some(calibration(path, &tokenizer, n, seq, &device)?)
        }
        (Score::Magnitude, _) => None,
    };
    let bar = ProgressBar::new(model.blocks.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} layers {elapsed} {msg}")
            .expect("valid template"),
    );
    bar.set_message(spec.to_string());
    let reports = locallm_prune::prune(&mut model, &spec, calib, |done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    locallm_prune::save_pruned(&gguf, &model, &spec.to_string(), &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    print_summary(&reports);
    eprintln!("wrote {} ({spec})", args.output.display());
    Ok(())
}

/// The method, score and pattern the flags ask for.
fn spec(args: &Args) -> Result<PruneSpec> {
    let fraction = args.sparsity.unwrap_or(0.5);
    let pattern = match (&args.nm, args.sparsity) {
        (Some(_), Some(_)) => bail!("--nm N:M sets the sparsity (1 - N/M): drop --sparsity"),
        (Some(nm), None) => {
            let (n, m) = locallm_prune::parse_n_m(nm)?;
            Pattern::NM { n, m }
        }
        (None, _) => Pattern::Fraction(fraction),
    };
    let score_arg = |s: Option<ScoreArg>| match s {
        Some(ScoreArg::Magnitude) => Score::Magnitude,
        Some(ScoreArg::Wanda) => Score::Wanda,
        None if args.calib.is_some() => Score::Wanda,
        None => Score::Magnitude,
    };
    Ok(match args.method {
        Method::Structured if args.nm.is_some() => {
            bail!("--nm applies to magnitude and wanda, not structured")
        }
        Method::Structured => PruneSpec {
            score: score_arg(args.score),
            target: Target::Structured(fraction),
        },
        _ if args.score.is_some() => {
            bail!("--score is for --method structured; use --method magnitude or wanda")
        }
        Method::Magnitude => PruneSpec {
            score: Score::Magnitude,
            target: Target::Unstructured(pattern),
        },
        Method::Wanda => PruneSpec {
            score: Score::Wanda,
            target: Target::Unstructured(pattern),
        },
    })
}

/// The first `n_tokens` tokens of the text in `path`, in sequences of `seq_len`.
pub fn calibration(
    path: &Path,
    tokenizer: &Tokenizer,
    n_tokens: usize,
    seq_len: usize,
    device: &Device,
) -> Result<locallm_prune::Calibration> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let tokens = tokenizer.encode(&text, false)?;
    locallm_prune::calibration_batch(&tokens, n_tokens, seq_len, device)
        .with_context(|| format!("calibration text {}", path.display()))
}

/// One line per matrix, then the total.
fn print_summary(reports: &[TensorReport]) {
    let (mut before, mut kept) = (0usize, 0usize);
    for r in reports {
        let [o, i] = r.shape;
        let [o0, i0] = r.shape_before;
        let shape = if r.shape == r.shape_before {
            format!("[{o}, {i}]")
        } else {
            format!("[{o0}, {i0}] -> [{o}, {i}]")
        };
        println!(
            "{:<28} {:<24} {:6.2}% removed",
            r.name,
            shape,
            100.0 * r.sparsity()
        );
        before += o0 * i0;
        kept += o * i - r.zeros;
    }
    println!(
        "total: {} of {} weights in pruned matrices removed ({:.2}%)",
        before - kept,
        before,
        100.0 * (before - kept) as f64 / before.max(1) as f64
    );
}
