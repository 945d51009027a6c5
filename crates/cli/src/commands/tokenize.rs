//! `locallm tokenize`: the ids a text becomes, as `llama-tokenize` prints them.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;

use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF file or model name (see `locallm list`; default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// Read the text from this file.
    #[arg(long, conflicts_with = "text")]
    pub file: Option<PathBuf>,
    /// The text to tokenize.
    pub text: Option<String>,
}

pub fn run(args: Args) -> Result<()> {
    let text = match (&args.file, &args.text) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        (None, Some(text)) => text.clone(),
        (None, None) => bail!("give a TEXT argument or --file F"),
    };
    let gguf = loaded::open_gguf(&loaded::model_path(args.model.as_deref())?)?;
    let tokenizer = loaded::tokenizer(&gguf)?;
    // like llama-tokenize: BOS when the model asks for it, special-token text parsed as special
    let ids = tokenizer.encode_prompt(&text)?;
    println!("{}", serde_json::to_string(&ids)?);
    Ok(())
}
