//! `locallm inspect`: what is inside a GGUF file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use locallm_quant::{GgufFile, MetaValue};

use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF file or model name (see `locallm list`; default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// Show only this tensor.
    #[arg(long)]
    pub tensor: Option<String>,
    /// With --tensor: write it, dequantized to f32, as a NumPy .npy file.
    #[arg(long, requires = "tensor")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let path = loaded::model_path(args.model.as_deref())?;
    let gguf = loaded::open_gguf(&path)?;
    if let Some(name) = &args.tensor {
        let info = gguf.tensor(name).with_context(|| {
            format!("no tensor named `{name}` (run `locallm inspect` to list them)")
        })?;
        print_tensor_row(info);
        if let Some(out) = &args.out {
            let values = gguf.dequantize(info)?;
            let shape = info.shape_row_major();
            locallm_quant::npy::save_f32(out, &shape, &values)
                .with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!("wrote {} ({:?} f32) to {}", name, shape, out.display());
        }
        return Ok(());
    }
    print_summary(&path, &gguf);
    Ok(())
}

fn print_summary(path: &std::path::Path, gguf: &GgufFile) {
    println!("file: {}", path.display());
    println!(
        "GGUF version {}, {} metadata keys, {} tensors, alignment {}",
        gguf.version,
        gguf.metadata.entries.len(),
        gguf.tensors.len(),
        gguf.alignment
    );
    let params = gguf.n_params();
    println!(
        "parameters: {} ({:.1}M), tensor data: {:.1} MiB, {:.2} bits/weight",
        params,
        params as f64 / 1e6,
        gguf.tensor_bytes() as f64 / (1 << 20) as f64,
        gguf.bits_per_weight()
    );
    println!("\nmetadata:");
    for (key, value) in &gguf.metadata.entries {
        println!("  {key:<44} {:<7} {}", value.type_name(), short(value));
    }
    println!("\ntensors:");
    println!(
        "  {:<28} {:<6} {:>16} {:>12}",
        "name", "type", "shape", "bytes"
    );
    for t in &gguf.tensors {
        print_tensor_row(t);
    }
}

fn print_tensor_row(t: &locallm_quant::TensorInfo) {
    let shape = format!("{:?}", t.shape_row_major());
    println!(
        "  {:<28} {:<6} {:>16} {:>12}",
        t.name,
        t.ggml_type.name(),
        shape,
        t.n_bytes()
    );
}

/// A value shortened for one line: long strings cut, arrays summarised.
fn short(value: &MetaValue) -> String {
    match value {
        MetaValue::String(s) => {
            let one_line = s.replace('\n', "\\n");
            if one_line.chars().count() > 60 {
                format!("{:?}…", one_line.chars().take(60).collect::<String>())
            } else {
                format!("{one_line:?}")
            }
        }
        MetaValue::Array(items) => {
            let head: Vec<String> = items.iter().take(4).map(short).collect();
            let more = if items.len() > 4 { ", …" } else { "" };
            format!("[{}{}] ({} items)", head.join(", "), more, items.len())
        }
        MetaValue::U8(v) => v.to_string(),
        MetaValue::I8(v) => v.to_string(),
        MetaValue::U16(v) => v.to_string(),
        MetaValue::I16(v) => v.to_string(),
        MetaValue::U32(v) => v.to_string(),
        MetaValue::I32(v) => v.to_string(),
        MetaValue::U64(v) => v.to_string(),
        MetaValue::I64(v) => v.to_string(),
        MetaValue::F32(v) => v.to_string(),
        MetaValue::F64(v) => v.to_string(),
        MetaValue::Bool(v) => v.to_string(),
    }
}
