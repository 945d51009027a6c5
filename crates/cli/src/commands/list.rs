//! `locallm list`: the models usable by name (like `ollama list`): the
//! registry's files in our cache, then GGUFs found in a Hugging Face hub
//! cache or Ollama's store, with size, type and architecture read from each
//! file's GGUF header.

use anyhow::Result;
use clap::Args as ClapArgs;
use locallm_models::{Cache, LocalModel};
use locallm_quant::{GgufFile, QuantMix};

use crate::model_arg;

#[derive(ClapArgs)]
pub struct Args {
    /// Also show each file's path.
    #[arg(long)]
    pub paths: bool,
}

pub fn run(args: Args) -> Result<()> {
    let models = locallm_models::local::list(&Cache::from_env(), &model_arg::stores_from_env());
    if models.is_empty() {
        println!(
            "no models yet: `locallm pull NAME` fetches one (names: {})",
            registry_names()
        );
        return Ok(());
    }
    println!(
        "{:<44} {:>9}  {:<8} {:<8} {:<9}",
        "NAME", "SIZE", "TYPE", "ARCH", "SOURCE"
    );
    for m in &models {
        let (ty, arch) = describe(m);
        let mb = m.size as f64 / 1e6;
        print!(
            "{:<44} {:>6.0} MB  {ty:<8} {arch:<8} {:<9}",
            m.name,
            mb,
            m.source.label()
        );
        if args.paths {
            print!(" {}", m.path.display());
        }
        println!();
    }
    Ok(())
}

/// The file's type (`general.file_type` as llama.cpp names it, e.g. Q4_K_M)
/// and architecture; `-` where the file is not a GGUF or does not say.
fn describe(m: &LocalModel) -> (String, String) {
    let Ok(gguf) = GgufFile::open(&m.path) else {
        return ("-".into(), "-".into());
    };
    let md = &gguf.metadata;
    let ty = md
        .get_u64("general.file_type")
        .and_then(file_type_name)
        .unwrap_or("-");
    let arch = md.architecture().unwrap_or("-");
    (ty.to_string(), arch.to_string())
}

/// `general.file_type` (llama.cpp's `llama_ftype`) by name: the mixes our
/// quantizer knows, plus whole-file F32 and BF16.
fn file_type_name(ftype: u64) -> Option<&'static str> {
    match ftype {
        0 => Some("F32"),
        32 => Some("BF16"),
        _ => QuantMix::ALL
            .into_iter()
            .find(|m| u64::from(m.file_type()) == ftype)
            .map(QuantMix::name),
    }
}

fn registry_names() -> String {
    let names: Vec<&str> = locallm_models::REGISTRY.iter().map(|s| s.name).collect();
    names.join(", ")
}
