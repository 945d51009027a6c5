//! Parity with llama.cpp itself: ids that `llama-tokenize` produced for the
//! corpus files (tests/golden/tokenizer/llamacpp/*.json, written by
//! scripts/golden_llamacpp.sh, which records the llama.cpp version).

mod common;

use common::{first_difference, golden_dir, tokenizer};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[test]
fn ids_match_llama_tokenize() {
    let tok = tokenizer();
    let dir = golden_dir().join("llamacpp");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    // Every corpus file has its golden ids.
    for (name, _) in common::corpus() {
        let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
        assert!(
            files.iter().any(|f| f.file_stem().unwrap() == stem),
            "no golden for {name}"
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
            "{} changed since {} was generated: rerun scripts/golden_llamacpp.sh",
            input.display(),
            file.display()
        );
        let text = String::from_utf8(text).unwrap();
        let parse_special = golden["parse_special"].as_bool().unwrap();
        let mut ours = tok.encode(&text, parse_special).unwrap();
        if golden["add_bos"].as_bool().unwrap() {
            ours.insert(0, tok.bos_id().unwrap());
        }
        let theirs: Vec<u32> = golden["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        if let Some(diff) = first_difference(tok, &ours, &theirs) {
            panic!("{}: {diff}", file.display());
        }
    }
}
