//! `locallm pull [NAME]`: fetch and verify a registry model (like `ollama
//! pull`); the default model without a name. Prints the cached path.

use anyhow::Result;
use clap::Args as ClapArgs;

#[derive(ClapArgs)]
pub struct Args {
    /// A registry name (`locallm list` and the error for an unknown name show
    /// them); default: the default chat model.
    pub name: Option<String>,
}

pub fn run(args: Args) -> Result<()> {
    let spec = match &args.name {
        None => locallm_models::DEFAULT_CHAT_MODEL,
        Some(name) => locallm_models::find(name).ok_or_else(|| {
            let names: Vec<&str> = locallm_models::REGISTRY.iter().map(|s| s.name).collect();
            anyhow::anyhow!(
                "no model named `{name}` in the registry; known: {}",
                names.join(", ")
            )
        })?,
    };
    let path = locallm_models::ensure(spec)?;
    println!("{}", path.display());
    Ok(())
}
