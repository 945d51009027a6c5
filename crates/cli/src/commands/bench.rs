//! `locallm bench`: prompt-processing and decode speed, as `llama-bench`
//! measures them, next to the ceiling that memory bandwidth sets.
//!
//! `ppN`: one prefill of N tokens (tokens per second of the prompt phase).
//! `tgN`: N tokens decoded one forward pass at a time after a one-token
//! prompt. Each test runs `--repetitions` times after a warm-up; the result
//! is the mean and standard deviation of the per-run speeds, llama-bench's
//! `avg_ts` and `stddev_ts`. Peak resident memory (Linux `VmHWM`) is reported
//! with them, since memory is the other half of "does it run here".

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use locallm_infer::{GenerateOptions, SamplerConfig};
use serde_json::json;

use super::generate::CacheArgs;
use crate::loaded::{self, Loaded};

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF file or model name (see `locallm list`; default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// Prompt lengths to test (llama-bench's -p); 0 skips prompt processing.
    #[arg(
        short = 'p',
        long = "n-prompt",
        value_delimiter = ',',
        default_value = "512"
    )]
    pub n_prompt: Vec<usize>,
    /// Tokens to generate (llama-bench's -n); 0 skips generation.
    #[arg(
        short = 'n',
        long = "n-gen",
        value_delimiter = ',',
        default_value = "128"
    )]
    pub n_gen: Vec<usize>,
    /// Runs per test (llama-bench's -r).
    #[arg(short = 'r', long, default_value_t = 3)]
    pub repetitions: usize,
    /// Threads (llama-bench's -t); default: all cores.
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
}

pub fn run(args: Args) -> Result<()> {
    if args.repetitions == 0 {
        bail!("--repetitions must be at least 1");
    }
    let threads = thread_pool(args.threads)?;
    let path = loaded::model_path(args.model.as_deref())?;
    let options = loaded::load_options()?;
    let l = loaded::load_for_inference(Some(&path))?;
    let vocab = l.model.config.vocab_size as u32;
    // Deterministic ids spread over the vocabulary (llama-bench uses random ones).
    let tokens =
        |n: usize| -> Vec<u32> { (0..n as u32).map(|i| (i * 7919 + 13) % vocab).collect() };
    speed(&l, &args.cache, &tokens(8), 2)?; // warm-up: first-touch of the weights, allocator

    let mut results = Vec::new();
    for &n in args.n_prompt.iter().filter(|&&n| n > 0) {
        let runs = (0..args.repetitions)
            .map(|_| speed(&l, &args.cache, &tokens(n), 1).map(|(pp, _)| pp))
            .collect::<Result<Vec<_>>>()?;
        results.push(row(&l, &args, format!("pp{n}"), n, 0, &runs));
    }
    for &n in args.n_gen.iter().filter(|&&n| n > 0) {
        let runs = (0..args.repetitions)
            .map(|_| speed(&l, &args.cache, &tokens(1), n + 1).map(|(_, tg)| tg))
            .collect::<Result<Vec<_>>>()?;
        results.push(row(&l, &args, format!("tg{n}"), 0, n, &runs));
    }
    let file_size = std::fs::metadata(&path).map(|m| m.len()).ok();
    let peak_rss = peak_rss_bytes(); // before the triad's arrays
    let bandwidth = triad_bandwidth();
    let bytes_per_token = l.model.weight_bytes_per_token();
    let ceiling = bandwidth / bytes_per_token as f64;
    let first = |prefix: &str| -> Option<f64> {
        results
            .iter()
            .find(|r| r["test"].as_str().is_some_and(|t| t.starts_with(prefix)))
            .and_then(|r| r["avg_ts"].as_f64())
    };
    let (pp, tg) = (first("pp"), first("tg"));
    let report = json!({
        "model_filename": path.file_name().map(|f| f.to_string_lossy().to_string()),
        "model_bytes": file_size,
        "model_n_params": l.gguf.n_params(),
        "backend": options.backend.name(),
        "weights": l.model.weight_storage().to_string(),
        "kernels": locallm_quant::kernels::f32_kernel_name(options.kernels),
        "cpu_model": cpu_model(),
        "cpu_flags_used": locallm_quant::kernels::f32_kernel_flags(options.kernels),
        "threads": threads,
        "pp_tok_s": pp,
        "tg_tok_s": tg,
        "bandwidth_gb_s": bandwidth / 1e9,
        "bytes_per_token": bytes_per_token,
        "ceiling_tok_s": ceiling,
        "ceiling_fraction": tg.map(|tg| tg / ceiling),
        "peak_rss_bytes": peak_rss,
        "results": results,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

/// Sets up rayon's global pool with `threads` (default: all cores) — the pool
/// our kernels and burn's CPU backend share — and returns its size.
pub fn thread_pool(threads: Option<usize>) -> Result<usize> {
    let threads = match threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .context("cannot set up the thread pool")?;
    Ok(threads)
}

/// llama-bench's table, plus the bandwidth ceiling.
fn print_table(r: &serde_json::Value) {
    println!(
        "{} · {} weights · {} kernels · {} threads",
        r["model_filename"].as_str().unwrap_or("?"),
        r["weights"].as_str().unwrap_or("?"),
        r["kernels"].as_str().unwrap_or("?"),
        r["threads"]
    );
    let flags: Vec<&str> = r["cpu_flags_used"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        .collect();
    println!(
        "CPU: {} · flags used: {}",
        r["cpu_model"].as_str().unwrap_or("unknown"),
        if flags.is_empty() {
            "none (portable kernels)".to_string()
        } else {
            flags.join(" ")
        }
    );
    println!("| {:>6} | {:>20} |", "test", "t/s");
    println!("| -----: | -------------------: |");
    for row in r["results"].as_array().into_iter().flatten() {
        let (avg, sd) = (
            row["avg_ts"].as_f64().unwrap_or(0.0),
            row["stddev_ts"].as_f64().unwrap_or(0.0),
        );
        println!(
            "| {:>6} | {:>20} |",
            row["test"].as_str().unwrap_or("?"),
            format!("{avg:.2} ± {sd:.2}")
        );
    }
    println!(
        "bandwidth {:.1} GB/s ÷ {:.1} MB read per token = ceiling {:.0} tok/s",
        r["bandwidth_gb_s"].as_f64().unwrap_or(0.0),
        r["bytes_per_token"].as_f64().unwrap_or(0.0) / 1e6,
        r["ceiling_tok_s"].as_f64().unwrap_or(0.0)
    );
    if let Some(f) = r["ceiling_fraction"].as_f64() {
        println!("decode reached {:.0}% of the ceiling", 100.0 * f);
    }
    if let Some(rss) = r["peak_rss_bytes"].as_f64() {
        println!("peak RSS {:.0} MiB", rss / (1024.0 * 1024.0));
    }
}

// ANCHOR: triad
/// Memory bandwidth in bytes per second: the best of five runs of the STREAM
/// triad `a[i] = b[i] + s·c[i]` on the thread pool, over three 64 MiB arrays
/// (twice this machine's 32 MiB L3, so the data comes from DRAM). Counted as
/// STREAM counts it: two arrays read, one written.
pub fn triad_bandwidth() -> f64 {
    use rayon::prelude::*;
    const N: usize = 16 << 20; // f32s per array: 64 MiB
    let (b, c) = (vec![1.0f32; N], vec![2.0f32; N]);
    let mut a = vec![0.0f32; N];
    let mut best = f64::INFINITY;
    for rep in 0..5 {
        let s = 3.0 + rep as f32;
        let start = std::time::Instant::now();
        a.par_chunks_mut(1 << 16)
            .zip(b.par_chunks(1 << 16).zip(c.par_chunks(1 << 16)))
            .for_each(|(a, (b, c))| {
                for ((a, b), c) in a.iter_mut().zip(b).zip(c) {
                    *a = b + s * c;
                }
            });
        best = best.min(start.elapsed().as_secs_f64());
        std::hint::black_box(&a);
    }
    (3 * N * size_of::<f32>()) as f64 / best
}
// ANCHOR_END: triad

/// One generation in a fresh session: (prefill tok/s, decode tok/s).
fn speed(l: &Loaded, cache: &CacheArgs, prompt: &[u32], max_tokens: usize) -> Result<(f64, f64)> {
    let ctx = prompt.len() + max_tokens + 1;
    if ctx > l.model.config.context_length {
        bail!(
            "{} prompt + {} generated tokens exceed the model's context of {}",
            prompt.len(),
            max_tokens,
            l.model.config.context_length
        );
    }
    let mut session = cache.session(&l.model, ctx, &l.device)?;
    let opts = GenerateOptions {
        max_tokens,
        sampler: SamplerConfig::greedy(),
        stop_tokens: vec![], // always generate the full count
    };
    let mut generation = session.generate(prompt, opts)?;
    for _ in generation.by_ref() {}
    let stats = generation.stats();
    Ok((
        stats.prefill_tok_s().unwrap_or(0.0),
        stats.decode_tok_s().unwrap_or(0.0),
    ))
}

fn row(
    l: &Loaded,
    args: &Args,
    test: String,
    n_prompt: usize,
    n_gen: usize,
    runs: &[f64],
) -> serde_json::Value {
    let mean = runs.iter().sum::<f64>() / runs.len() as f64;
    let var = runs.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (runs.len().max(2) - 1) as f64;
    let types = args.cache.types();
    json!({
        "test": test,
        "n_prompt": n_prompt,
        "n_gen": n_gen,
        "avg_ts": mean,
        "stddev_ts": var.sqrt(),
        "samples_ts": runs,
        "cache_type_k": types.k.to_string(),
        "cache_type_v": types.v.to_string(),
        "kv_bytes_per_token": types.bytes_per_token(&l.model.config).ok(),
    })
}

/// The CPU's name as `/proc/cpuinfo` gives it (Linux only): a speed means
/// little without the host it was measured on.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// Peak resident set size of this process so far (Linux only).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `locallm bench-sweep`: decode speed against file size for several
/// quantization mixes of one model, ours and (given its path) llama.cpp's,
/// with the bandwidth ceiling: chapter 11's figure.
#[derive(ClapArgs)]
pub struct SweepArgs {
    /// Source GGUF (default: SmolLM2-135M-Instruct).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// Mixes to quantize the source to, comma-separated; the source itself is always measured.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "F16,Q8_0,Q6_K,Q5_K_M,Q4_K_M,Q4_0,Q3_K_M,Q2_K"
    )]
    pub types: Vec<String>,
    /// Tokens generated per run.
    #[arg(short = 'n', long, default_value_t = 64)]
    pub n_gen: usize,
    /// Runs per file.
    #[arg(short = 'r', long, default_value_t = 2)]
    pub repetitions: usize,
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// llama.cpp's `llama-bench`, to measure the same files with it too.
    #[arg(long)]
    pub llama_bench: Option<PathBuf>,
    /// Where the quantized files go (kept, and reused).
    #[arg(long, default_value = "target/quant-sweep")]
    pub work_dir: PathBuf,
    /// Writes bandwidth.md, bandwidth.json and bandwidth.svg here.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(serde::Serialize)]
struct SweepRow {
    file: String,
    file_bytes: u64,
    /// How our engine held the weights: "blocks" (the kernels), "f32" or "mixed".
    weights: String,
    locallm_tg_tok_s: f64,
    llama_cpp_tg_tok_s: Option<f64>,
    ceiling_tok_s: f64,
}

pub fn run_sweep(args: SweepArgs) -> Result<()> {
    let threads = thread_pool(args.threads)?;
    let source = loaded::model_path(args.model.as_deref())?;
    std::fs::create_dir_all(&args.work_dir)
        .with_context(|| format!("cannot create {}", args.work_dir.display()))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut files = vec![source.clone()];
    {
        let gguf = loaded::open_gguf(&source)?;
        for name in &args.types {
            let mix = locallm_quant::QuantMix::from_name(name)?;
            let out = args.work_dir.join(format!("{mix}.gguf"));
            if !out.exists() {
                eprintln!("quantizing to {mix} ...");
                locallm_quant::quantize_model(&gguf, &out, mix, |_, _, _| {})
                    .with_context(|| format!("quantizing {} to {mix}", source.display()))?;
            }
            files.push(out);
        }
    }
    let bandwidth = triad_bandwidth();
    let cache = CacheArgs::default();
    let mut rows = Vec::new();
    for file in &files {
        eprintln!("measuring {} ...", file.display());
        let l = loaded::load_for_inference(Some(file))?;
        speed(&l, &cache, &[1], 4)?; // warm-up
        let runs = (0..args.repetitions.max(1))
            .map(|_| speed(&l, &cache, &[1], args.n_gen + 1).map(|(_, tg)| tg))
            .collect::<Result<Vec<_>>>()?;
        let file_bytes = std::fs::metadata(file)?.len();
        let weights = l.model.weight_storage().to_string();
        drop(l);
        let llama = match &args.llama_bench {
            Some(bin) => Some(llama_bench_tg(
                bin,
                file,
                args.n_gen,
                args.repetitions,
                threads,
            )?),
            None => None,
        };
        rows.push(SweepRow {
            file: file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into(),
            file_bytes,
            weights,
            locallm_tg_tok_s: runs.iter().sum::<f64>() / runs.len() as f64,
            llama_cpp_tg_tok_s: llama,
            ceiling_tok_s: bandwidth / file_bytes as f64,
        });
    }
    rows.sort_by_key(|r| r.file_bytes);
    write_sweep(&args, bandwidth, threads, &rows)
}

/// llama-bench's tg speed on `file`.
fn llama_bench_tg(
    bin: &std::path::Path,
    file: &std::path::Path,
    n: usize,
    reps: usize,
    threads: usize,
) -> Result<f64> {
    let out = std::process::Command::new(bin)
        .args([
            "-m",
            &file.to_string_lossy(),
            "-p",
            "0",
            "-n",
            &n.to_string(),
        ])
        .args([
            "-r",
            &reps.max(1).to_string(),
            "-t",
            &threads.to_string(),
            "-o",
            "json",
        ])
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rows: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("llama-bench printed no JSON")?;
    rows.get(0)
        .and_then(|r| r["avg_ts"].as_f64())
        .context("llama-bench's JSON has no avg_ts")
}

fn write_sweep(args: &SweepArgs, bandwidth: f64, threads: usize, rows: &[SweepRow]) -> Result<()> {
    use std::fmt::Write as _;
    let mut md = format!(
        "tg{} on {threads} threads; bandwidth (triad) {:.1} GB/s; ceiling = bandwidth / file size.\n\n\
         | file | MiB | locallm weights | locallm tok/s | llama.cpp tok/s | ceiling tok/s |\n\
         |---|---:|---|---:|---:|---:|\n",
        args.n_gen,
        bandwidth / 1e9
    );
    for r in rows {
        writeln!(
            md,
            "| {} | {:.1} | {} | {:.1} | {} | {:.0} |",
            r.file,
            r.file_bytes as f64 / (1 << 20) as f64,
            r.weights,
            r.locallm_tg_tok_s,
            r.llama_cpp_tg_tok_s
                .map_or("–".into(), |t| format!("{t:.1}")),
            r.ceiling_tok_s
        )?;
    }
    let write = |name: &str, body: String| super::write_report(&args.out, name, body);
    write("bandwidth.md", md)?;
    write("bandwidth.json", serde_json::to_string_pretty(rows)? + "\n")?;
    let mib = |r: &SweepRow| r.file_bytes as f64 / (1 << 20) as f64;
    let mut series = vec![
        locallm_plot::Series {
            name: "ceiling: bandwidth / file size".into(),
            points: rows.iter().map(|r| (mib(r), r.ceiling_tok_s)).collect(),
        },
        locallm_plot::Series {
            name: "locallm".into(),
            points: rows.iter().map(|r| (mib(r), r.locallm_tg_tok_s)).collect(),
        },
    ];
    if rows.iter().all(|r| r.llama_cpp_tg_tok_s.is_some()) {
        series.push(locallm_plot::Series {
            name: "llama.cpp".into(),
            points: rows
                .iter()
                .map(|r| (mib(r), r.llama_cpp_tg_tok_s.unwrap_or(0.0)))
                .collect(),
        });
    }
    let chart = locallm_plot::Chart::new(
        "decode speed vs model size",
        "file size (MiB)",
        "tokens/s (tg)",
    )
    .log_y();
    let svg = args.out.join("bandwidth.svg");
    locallm_plot::line_chart(&svg, &chart, &series)?;
    eprintln!("wrote {}", svg.display());
    Ok(())
}
