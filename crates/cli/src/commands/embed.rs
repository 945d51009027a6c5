//! `locallm embed`: a text's all-MiniLM-L6-v2 embedding (chapter 24).
//!
//! 384 numbers of length 1; the cosine of two of them (their dot product)
//! says how close the texts' meanings are.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use locallm_rag::MiniLm;

#[derive(ClapArgs)]
pub struct Args {
    /// The text to embed.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    text: Option<String>,
    /// Embed the contents of this file instead.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let text = match (&args.file, args.text) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        (None, Some(text)) => text,
        (None, None) => unreachable!("clap requires TEXT or --file"),
    };
    let embedder = MiniLm::load_default(&crate::loaded::device()?)?;
    let tokens = embedder.tokens(&text).len();
    let v = embedder.embed(&text);
    if args.json {
        let out = serde_json::json!({"model": "all-MiniLM-L6-v2", "dim": v.len(),
                                     "tokens": tokens, "embedding": v});
        println!("{out}");
    } else {
        let values: Vec<String> = v.iter().map(|x| format!("{x:.6}")).collect();
        println!("{}", values.join(" "));
        eprintln!("{} dimensions, {tokens} tokens", v.len());
    }
    Ok(())
}
