//! Shared test setup: the real SmolLM2 GGUF and the committed text corpus.

#![allow(dead_code)] // each test file uses a different part

use locallm_quant::{GgufFile, Metadata};
use locallm_tokenizer::Tokenizer;
use serde_json::Value;
use sha2::{Digest, Sha256};
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

/// Compare `tok` with every golden of llama-tokenize in `golden_dir()/sub`
/// (written by scripts/golden_llamacpp.sh or golden_tokenizer_families.sh):
/// each corpus file has one, for exactly that text, and our ids equal its.
pub fn check_llamacpp_goldens(tok: &Tokenizer, sub: &str) {
    let dir = golden_dir().join(sub);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| p.file_stem().unwrap() != "prompts")
        .collect();
    files.sort();
    for (name, _) in corpus() {
        let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
        assert!(
            files.iter().any(|f| f.file_stem().unwrap() == stem),
            "no golden for {name} in {}",
            dir.display()
        );
    }

    for file in files {
        let golden: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let input = golden_dir()
            .join("..")
            .join(golden["input"].as_str().unwrap());
        let text = std::fs::read(&input).unwrap();
        // The golden ids are for exactly this text.
        let sha = format!("{:x}", Sha256::digest(&text));
        assert_eq!(
            sha,
            golden["input_sha256"].as_str().unwrap(),
            "{} changed since {} was generated: rerun {}",
            input.display(),
            file.display(),
            golden["reference"]["generated_by"]
        );
        let text = String::from_utf8(text).unwrap();
        let parse_special = golden["parse_special"].as_bool().unwrap();
        let mut ours = tok.encode(&text, parse_special).unwrap();
        if golden["add_bos"].as_bool().unwrap() {
            ours.insert(0, tok.bos_id().unwrap());
        }
        if let Some(diff) = first_difference(tok, &ours, &ids(&golden["ids"])) {
            panic!("{}: {diff}", file.display());
        }
    }
}

/// A JSON array of token ids.
pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

/// Our ids equal `hf`'s on every corpus text (special-token text parsed, no
/// BOS: HF's `encode(text, false)`), and the corpus is not trivially short.
pub fn check_hf_corpus(tok: &Tokenizer, hf: &tokenizers::Tokenizer) {
    let mut total = 0;
    for (name, text) in corpus() {
        let ours = tok.encode(&text, true).unwrap();
        let theirs = hf.encode(text.as_str(), false).unwrap().get_ids().to_vec();
        if let Some(diff) = first_difference(tok, &ours, &theirs) {
            panic!("{name}: {diff}");
        }
        total += ours.len();
    }
    assert!(total > 10_000, "only {total} tokens");
}
