//! `locallm pull`: fetch and verify the default model (like `ollama pull`).

use anyhow::Result;
use clap::Args as ClapArgs;

#[derive(ClapArgs)]
pub struct Args {}

pub fn run(_args: Args) -> Result<()> {
    let path = locallm_models::default_model()?;
    println!("{}", path.display());
    Ok(())
}
