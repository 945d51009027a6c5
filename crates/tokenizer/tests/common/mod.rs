//! Shared test setup: the real SmolLM2 GGUF and the committed text corpus.

#![allow(dead_code)] // each test file uses a different part

use locallm_quant::{GgufFile, Metadata};
use locallm_tokenizer::Tokenizer;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Metadata of the default model (fetched into the cache if missing).
pub fn metadata() -> &'static Metadata {
    static METADATA: OnceLock<Metadata> = OnceLock::new();
    METADATA.get_or_init(|| {
        let path = locallm_models::default_model().expect("default model");
        GgufFile::open(&path).expect("open GGUF").metadata
    })
}

pub fn tokenizer() -> &'static Tokenizer {
    static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| Tokenizer::from_metadata(metadata()).expect("tokenizer"))
}

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/tokenizer")
}

/// Every corpus file as (file name, text), sorted by name.
pub fn corpus() -> Vec<(String, String)> {
    let dir = golden_dir().join("corpus");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "corpus files missing in {}",
        dir.display()
    );
    let total: usize = files.iter().map(|(_, text)| text.len()).sum();
    assert!(total >= 50_000, "corpus is only {total} bytes");
    files
}

/// Where two id sequences first differ, with the decoded text around it.
pub fn first_difference(tok: &Tokenizer, ours: &[u32], theirs: &[u32]) -> Option<String> {
    let at = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .or_else(|| (ours.len() != theirs.len()).then(|| ours.len().min(theirs.len())))?;
    let lo = at.saturating_sub(5);
    let window = |ids: &[u32]| {
        let ids = &ids[lo..(at + 5).min(ids.len())];
        let pieces: Vec<String> = ids
            .iter()
            .map(|&id| format!("{id}:{:?}", tok.decode(&[id]).unwrap()))
            .collect();
        pieces.join(" ")
    };
    Some(format!(
        "first difference at token {at} (ours has {}, reference has {})\n  ours:      {}\n  reference: {}",
        ours.len(),
        theirs.len(),
        window(ours),
        window(theirs)
    ))
}
