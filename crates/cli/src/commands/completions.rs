//! `locallm completions SHELL`: the shell's completion script for every
//! subcommand and flag, written by clap_complete from the same definitions
//! the parser uses.

use anyhow::Result;
use clap::Args as ClapArgs;
use clap_complete::Shell;

#[derive(ClapArgs)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell. For bash:
    /// `locallm completions bash > ~/.local/share/bash-completion/completions/locallm`.
    pub shell: Shell,
}

pub fn run(args: Args, mut command: clap::Command) -> Result<()> {
    clap_complete::generate(args.shell, &mut command, "locallm", &mut std::io::stdout());
    Ok(())
}
