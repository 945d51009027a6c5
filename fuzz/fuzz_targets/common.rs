//! The real tokenizer and chat template, read once from the default
//! model's metadata (`LOCALLM_FUZZ_MODEL`, or the model cache where
//! `locallm pull` puts it).
use std::path::PathBuf;
use std::sync::OnceLock;

use locallm_quant::GgufFile;
use locallm_tokenizer::{ChatTemplate, Tokenizer};

pub fn model_path() -> PathBuf {
    if let Some(p) = std::env::var_os("LOCALLM_FUZZ_MODEL") {
        return p.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    PathBuf::from(home).join(".cache/locallm/models/SmolLM2-135M-Instruct.Q4_1.gguf")
}

fn gguf() -> &'static GgufFile {
    static FILE: OnceLock<GgufFile> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = model_path();
        GgufFile::open(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run `locallm pull`, or set LOCALLM_FUZZ_MODEL)",
                path.display()
            )
        })
    })
}

#[allow(dead_code)]
pub fn tokenizer() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| Tokenizer::from_metadata(&gguf().metadata).expect("the model's tokenizer"))
}

#[allow(dead_code)]
pub fn template() -> &'static ChatTemplate {
    static T: OnceLock<ChatTemplate> = OnceLock::new();
    T.get_or_init(|| ChatTemplate::from_metadata(&gguf().metadata).expect("the model's template"))
}
