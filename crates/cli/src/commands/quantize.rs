//! `locallm quantize IN.gguf OUT.gguf TYPE`: requantize a model to a mix such
//! as Q4_K_M, choosing each tensor's type as llama.cpp's `llama-quantize`
//! does (the library does the work: `locallm_quant::quantize_model`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};
use locallm_quant::quantize_model::is_quantized;
use locallm_quant::{QuantMix, quantize_model};

use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// Input GGUF model.
    pub input: PathBuf,
    /// Output GGUF file (written to a temporary file, then renamed).
    pub output: PathBuf,
    /// Mix: Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q5_1, Q5_0, Q4_K_M, Q4_K_S, Q4_1, Q4_0,
    /// Q3_K_L, Q3_K_M, Q3_K_S, Q2_K or F16.
    #[arg(value_name = "TYPE")]
    pub mix: String,
}

pub fn run(args: Args) -> Result<()> {
    let mix = QuantMix::from_name(&args.mix)?;
    if same_file(&args.input, &args.output) {
        bail!("OUT must differ from IN ({})", args.input.display());
    }
    let gguf = loaded::open_gguf(&args.input)?;
    let quantized: Vec<&str> = gguf
        .tensors
        .iter()
        .filter(|t| is_quantized(t.ggml_type))
        .map(|t| t.ggml_type.name())
        .collect();
    if !quantized.is_empty() {
        let mut types = quantized.clone();
        types.sort();
        types.dedup();
        eprintln!(
            "note: {} is already quantized ({} tensors in {}); requantizing loses more than quantizing from F32/F16",
            args.input.display(),
            quantized.len(),
            types.join(", ")
        );
    }

    let bar = ProgressBar::new(gguf.tensors.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} tensors {elapsed} {msg}")
            .expect("valid template"),
    );
    let report = quantize_model(&gguf, &args.output, mix, |done, _, name| {
        bar.set_position(done as u64);
        bar.set_message(name.to_string());
    })
    .with_context(|| format!("quantizing {} to {mix}", args.input.display()))?;
    bar.finish_and_clear();

    eprintln!(
        "wrote {} ({mix}, general.file_type {}): {} tensors, {:.1} MiB -> {:.1} MiB{}",
        args.output.display(),
        mix.file_type(),
        report.tensors.len(),
        report.bytes_in as f64 / (1 << 20) as f64,
        report.bytes_out as f64 / (1 << 20) as f64,
        if report.requantized > 0 {
            format!(", {} tensors requantized", report.requantized)
        } else {
            String::new()
        }
    );
    Ok(())
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
