//! `--model NAME|PATH` (`-m`, as llama.cpp spells it), resolved the same way
//! by every command: a file that exists, a registry name such as
//! `gemma3-270m` (fetched on first use), or a model another tool already
//! downloaded (`locallm list` shows the names). The library takes the
//! places to look as arguments; this is where the environment picks them.

use std::path::{Path, PathBuf};

use anyhow::Result;
use locallm_models::{Cache, Stores};

/// The Hugging Face hub cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
/// `~/.cache/huggingface/hub`) and Ollama's store (`$OLLAMA_MODELS`, else
/// `~/.ollama/models`), as those tools find them.
pub fn stores_from_env() -> Stores {
    let env = |key| {
        std::env::var_os(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = std::env::home_dir();
    let hf_hub = env("HF_HUB_CACHE")
        .or_else(|| env("HF_HOME").map(|h| h.join("hub")))
        .or_else(|| home.as_ref().map(|h| h.join(".cache/huggingface/hub")));
    let ollama = env("OLLAMA_MODELS").or_else(|| home.as_ref().map(|h| h.join(".ollama/models")));
    Stores { hf_hub, ollama }
}

/// The file `--model` names.
pub fn resolve(arg: &Path) -> Result<PathBuf> {
    let Some(text) = arg.to_str() else {
        // Not UTF-8: cannot be a name, so it is a path.
        return Ok(arg.to_path_buf());
    };
    Ok(locallm_models::local::resolve(
        text,
        &Cache::from_env(),
        &stores_from_env(),
    )?)
}
