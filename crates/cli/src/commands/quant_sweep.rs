//! `locallm quant-sweep`: the size-vs-quality table of chapter 17.1 in one
//! command. Quantizes the model to every mix, measures each against the
//! source with `perplexity --kl-divergence-base`'s numbers (one base run for
//! all of them) and writes a Markdown table, the JSON behind it and an SVG
//! plot of bits/weight against KL divergence.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use locallm_infer::KlDivergence;
use locallm_plot::{Chart, scatter_chart};
use locallm_quant::{QuantMix, quantize_model};

use crate::commands::perplexity::kl_divergence_many;
use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// Source GGUF (default: SmolLM2-135M-Instruct); also the KL base.
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// The text to score.
    #[arg(long)]
    pub file: PathBuf,
    /// Tokens per chunk.
    #[arg(long, default_value_t = 512)]
    pub ctx: usize,
    /// Score only the first N chunks.
    #[arg(long)]
    pub chunks: Option<usize>,
    /// Mixes to measure, comma-separated (default: every mix `quantize` knows).
    #[arg(long, value_delimiter = ',')]
    pub types: Vec<String>,
    /// Where the quantized files go (kept, and reused if already there).
    #[arg(long, default_value = "target/quant-sweep")]
    pub work_dir: PathBuf,
    /// Writes quant-kld.md, quant-kld.json and quant-kld.svg here.
    #[arg(long)]
    pub out: PathBuf,
}

/// One row of the table.
#[derive(serde::Serialize)]
struct Row {
    mix: String,
    file_mib: f64,
    bits_per_weight: f64,
    #[serde(flatten)]
    kl: KlDivergence,
}

pub fn run(args: Args) -> Result<()> {
    let source = loaded::model_path(args.model.as_deref())?;
    let mixes: Vec<QuantMix> = if args.types.is_empty() {
        QuantMix::ALL.to_vec()
    } else {
        let parsed: Result<Vec<_>, _> = args.types.iter().map(|t| QuantMix::from_name(t)).collect();
        parsed?
    };
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    std::fs::create_dir_all(&args.work_dir)
        .with_context(|| format!("cannot create {}", args.work_dir.display()))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let gguf = loaded::open_gguf(&source)?;
    let source_bpw = gguf.bits_per_weight();
    let mut files = Vec::new();
    for mix in &mixes {
        let out = args.work_dir.join(format!("{mix}.gguf"));
        if !out.exists() {
            eprintln!("quantizing to {mix} ...");
            quantize_model(&gguf, &out, *mix, |_, _, _| {})
                .with_context(|| format!("quantizing {} to {mix}", source.display()))?;
        }
        files.push(out);
    }
    drop(gguf);

    let results = kl_divergence_many(&source, &files, &text, args.ctx, args.chunks)?;
    let mut rows = Vec::new();
    for ((path, kl), mix) in results.into_iter().zip(&mixes) {
        let q = loaded::open_gguf(&path)?;
        rows.push(Row {
            mix: mix.name().to_string(),
            file_mib: file_size(&path)? as f64 / (1 << 20) as f64,
            bits_per_weight: q.bits_per_weight(),
            kl,
        });
    }
    rows.sort_by(|a, b| b.bits_per_weight.total_cmp(&a.bits_per_weight));
    write_outputs(&args, &source, source_bpw, &rows)
}

fn file_size(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("cannot stat {}", path.display()))?
        .len())
}

fn write_outputs(args: &Args, source: &Path, source_bpw: f64, rows: &[Row]) -> Result<()> {
    let source_name = source.file_name().unwrap_or_default().to_string_lossy();
    let mut md = format!(
        "Base: `{source_name}` ({:.2} bits/weight, PPL {:.4}). Text: `{}`, {} tokens scored \
         (ctx {}).\n\n| mix | file (MiB) | bits/weight | PPL | ΔPPL | mean KLD | 99% KLD | same top |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
        source_bpw,
        rows.first().map_or(f64::NAN, |r| r.kl.ppl_base),
        args.file.file_name().unwrap_or_default().to_string_lossy(),
        rows.first().map_or(0, |r| r.kl.tokens_scored),
        args.ctx,
    );
    for r in rows {
        writeln!(
            md,
            "| {} | {:.1} | {:.2} | {:.4} | {:+.4} | {:.5} | {:.4} | {:.1} % |",
            r.mix,
            r.file_mib,
            r.bits_per_weight,
            r.kl.ppl,
            r.kl.delta_ppl,
            r.kl.kld_mean,
            r.kl.kld_p99,
            r.kl.same_top_pct
        )?;
    }
    let write = |name: &str, body: String| super::write_report(&args.out, name, body);
    write("quant-kld.md", md)?;
    write("quant-kld.json", serde_json::to_string_pretty(rows)? + "\n")?;
    // KLD spans 1e-6..1: log scale; a mix equal to the base (KLD 0) is left out.
    let points: Vec<(&str, f64, f64)> = rows
        .iter()
        .filter(|r| r.kl.kld_mean > 0.0)
        .map(|r| (r.mix.as_str(), r.bits_per_weight, r.kl.kld_mean))
        .collect();
    let svg = args.out.join("quant-kld.svg");
    let title = format!("{source_name}: size vs KL divergence");
    let chart = Chart::new(
        &title,
        "bits per weight",
        "mean KL divergence vs base (nats)",
    )
    .log_y();
    scatter_chart(&svg, &chart, &points)?;
    eprintln!("wrote {}", svg.display());
    Ok(())
}
