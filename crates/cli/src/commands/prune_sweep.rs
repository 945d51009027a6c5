//! `locallm prune-sweep`: the Wanda paper's comparison on our model, in one
//! command. Prunes the model (in memory) with magnitude and Wanda scores at
//! 10–60 % unstructured, 4:8, 2:4 and structured 10/25 %, measures the
//! perplexity of each on a held-out text, and writes a Markdown table, the
//! JSON behind it and an SVG plot of perplexity against sparsity.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use locallm_infer::PerplexityOptions;
use locallm_model::Llama;
use locallm_plot::{Chart, Series, line_chart};
use locallm_prune::{Pattern, PruneSpec, Score, Target, TensorReport};

use crate::loaded::{self, Loaded};

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF model (default: SmolLM2-135M-Instruct).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// The held-out text whose perplexity is measured.
    #[arg(long)]
    pub file: PathBuf,
    /// Calibration text for Wanda (a different text).
    #[arg(long)]
    pub calib: PathBuf,
    #[arg(long, default_value_t = 4096)]
    pub calib_tokens: usize,
    #[arg(long, default_value_t = 256)]
    pub calib_seq: usize,
    /// Tokens per perplexity chunk.
    #[arg(long, default_value_t = 512)]
    pub ctx: usize,
    /// Score only the first N chunks.
    #[arg(long)]
    pub chunks: Option<usize>,
    /// Writes pruning.md, pruning.json and pruning.svg here.
    #[arg(long)]
    pub out: PathBuf,
    /// Measure nothing: rewrite pruning.md and pruning.svg from pruning.json.
    #[arg(long)]
    pub replot: bool,
}

/// One measured model.
#[derive(serde::Serialize, serde::Deserialize)]
struct Row {
    /// "dense", "50%", "2:4", "structured 25%".
    target: String,
    /// "magnitude" or "wanda".
    score: String,
    /// Fraction of the blocks' matrix weights that are zero or removed.
    removed: f64,
    ppl: f64,
}

/// The table's rows, in order: unstructured, N:M, structured.
fn targets() -> Vec<Target> {
    let mut t: Vec<Target> = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
        .map(|s| Target::Unstructured(Pattern::Fraction(s)))
        .to_vec();
    t.push(Target::Unstructured(Pattern::NM { n: 4, m: 8 }));
    t.push(Target::Unstructured(Pattern::NM { n: 2, m: 4 }));
    t.extend([Target::Structured(0.1), Target::Structured(0.25)]);
    t
}

fn label(t: Target) -> String {
    match t {
        Target::Unstructured(Pattern::Fraction(s)) => format!("{:.0}%", s * 100.0),
        Target::Unstructured(Pattern::NM { n, m }) => format!("{n}:{m}"),
        Target::Structured(s) => format!("structured {:.0}%", s * 100.0),
    }
}

pub fn run(args: Args) -> Result<()> {
    if args.replot {
        let path = args.out.join("pruning.json");
        let json = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let saved: Saved =
            serde_json::from_str(&json).with_context(|| format!("{}", path.display()))?;
        return write_outputs(&args, &saved);
    }
    let model_path = loaded::model_path(args.model.as_deref())?;
    let l = loaded::load(Some(&model_path))?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut tokens = l.tokenizer.encode_prompt(&text)?;
    if let Some(chunks) = args.chunks {
        tokens.truncate(chunks.saturating_mul(args.ctx));
    }
    let calib = super::prune::calibration(
        &args.calib,
        &l.tokenizer,
        args.calib_tokens,
        args.calib_seq,
        &l.device,
    )?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let dense = perplexity(&l, &l.model, &tokens, &args)?;
    eprintln!("dense: ppl {dense:.4}");
    let mut rows = vec![];
    for score in [Score::Magnitude, Score::Wanda] {
        rows.push(Row {
            target: "dense".into(),
            score: score_name(score).into(),
            removed: 0.0,
            ppl: dense,
        });
        for target in targets() {
            let spec = PruneSpec { score, target };
            let mut model = l.model.clone();
            let reports = locallm_prune::prune(&mut model, &spec, Some(calib.clone()), |_, _| {})?;
            let ppl = perplexity(&l, &model, &tokens, &args)?;
            let removed = removed_fraction(&reports);
            eprintln!("{spec}: {:.1}% removed, ppl {ppl:.4}", removed * 100.0);
            rows.push(Row {
                target: label(target),
                score: score_name(score).into(),
                removed,
                ppl,
            });
        }
    }
    let model = model_path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let saved = Saved {
        model,
        text_tokens: tokens.len(),
        rows,
    };
    write_outputs(&args, &saved)
}

/// What pruning.json holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    model: String,
    text_tokens: usize,
    rows: Vec<Row>,
}

fn score_name(score: Score) -> &'static str {
    match score {
        Score::Magnitude => "magnitude",
        Score::Wanda => "wanda",
    }
}

fn perplexity(l: &Loaded, model: &Llama, tokens: &[u32], args: &Args) -> Result<f64> {
    let bos = l.tokenizer.bos_id().filter(|_| l.tokenizer.add_bos_token());
    let opts = PerplexityOptions::new(args.ctx, bos);
    Ok(locallm_infer::perplexity(model, tokens, &opts, &l.device, |_, _, _| {})?.ppl)
}

/// Zeroed or removed weights over all weights of the pruned matrices.
fn removed_fraction(reports: &[TensorReport]) -> f64 {
    let before: usize = reports
        .iter()
        .map(|r| r.shape_before[0] * r.shape_before[1])
        .sum();
    let kept: usize = reports
        .iter()
        .map(|r| r.shape[0] * r.shape[1] - r.zeros)
        .sum();
    1.0 - kept as f64 / before as f64
}

fn write_outputs(args: &Args, saved: &Saved) -> Result<()> {
    let (rows, n_tokens) = (&saved.rows, saved.text_tokens);
    let name = |p: &PathBuf| {
        p.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    };
    let mut md = format!(
        "Perplexity on `{}` ({n_tokens} tokens, ctx {}); Wanda calibrated on {} tokens of `{}`.\n\n\
         | pruned | weights removed | magnitude | Wanda |\n|---|---:|---:|---:|\n",
        name(&args.file),
        args.ctx,
        args.calib_tokens,
        name(&args.calib),
    );
    let (magnitude, wanda): (Vec<&Row>, Vec<&Row>) =
        rows.iter().partition(|r| r.score == "magnitude");
    for (m, w) in magnitude.iter().zip(&wanda) {
        writeln!(
            md,
            "| {} | {:.1}% | {:.2} | {:.2} |",
            m.target,
            m.removed * 100.0,
            m.ppl,
            w.ppl
        )?;
    }
    let write = |file: &str, body: String| super::write_report(&args.out, file, body);
    write("pruning.md", md)?;
    if !args.replot {
        write("pruning.json", serde_json::to_string_pretty(saved)? + "\n")?;
    }

    // one line per score and kind: unstructured (with dense at 0) and structured
    let series = |score: &str, structured: bool| Series {
        name: format!("{}{score}", if structured { "structured, " } else { "" }),
        points: rows
            .iter()
            .filter(|r| r.score == score && !r.target.contains(':'))
            .filter(|r| r.target == "dense" || r.target.starts_with("structured") == structured)
            .map(|r| (r.removed * 100.0, r.ppl))
            .collect(),
    };
    let all = [
        series("magnitude", false),
        series("wanda", false),
        series("magnitude", true),
        series("wanda", true),
    ];
    let title = format!("{}: perplexity vs sparsity", saved.model);
    let chart = Chart::new(&title, "weights removed (%)", "perplexity (log scale)").log_y();
    let svg = args.out.join("pruning.svg");
    line_chart(&svg, &chart, &all)?;
    eprintln!("wrote {}", svg.display());
    Ok(())
}
