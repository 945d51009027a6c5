//! `locallm list` and `--model NAME`: GGUFs placed in a fake Hugging Face hub
//! cache and a fake Ollama store (laid out as those tools lay them out) are
//! listed with size, type and architecture, and usable by name; an unknown
//! name lists the names that exist.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use locallm_quant::{GgmlType, MetaValue, TensorInfo, write_gguf};

/// A tiny GGUF: header, two metadata keys, one 4x8 F32 tensor.
fn tiny_gguf(path: &Path, arch: &str, file_type: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let metadata = [
        ("general.architecture", MetaValue::String(arch.into())),
        ("general.file_type", MetaValue::U32(file_type)),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let t = TensorInfo {
        name: "token_embd.weight".into(),
        shape: vec![8, 4],
        ggml_type: GgmlType::F32,
        offset: 0,
    };
    write_gguf(path, &metadata, &[t], |_| Ok(vec![0u8; 8 * 4 * 4])).unwrap();
}

/// `locallm ARGS` with only the fake stores (and an empty locallm cache) to look in.
fn locallm(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_locallm"))
        .args(args)
        .env("LOCALLM_HOME", root.join("locallm"))
        .env("HF_HOME", root.join("hf"))
        .env_remove("HF_HUB_CACHE")
        .env("OLLAMA_MODELS", root.join("ollama"))
        .output()
        .expect("run locallm")
}

fn stdout(out: Output) -> String {
    assert!(
        out.status.success(),
        "locallm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The fake stores: a Q4_K_M llama in the hub cache, a Q4_0 gemma3 in Ollama's.
fn fake_stores(root: &Path) {
    let snapshot = root.join("hf/hub/models--someone--Tiny-GGUF/snapshots/0123abc");
    tiny_gguf(&snapshot.join("tiny-Q4_K_M.gguf"), "llama", 15);
    let ollama = root.join("ollama");
    let blob_hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    tiny_gguf(
        &ollama.join(format!("blobs/sha256-{blob_hex}")),
        "gemma3",
        2,
    );
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
        "layers":[{{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:{blob_hex}","size":352}},
                  {{"mediaType":"application/vnd.ollama.image.license","digest":"sha256:00","size":1}}]}}"#
    );
    let dir = ollama.join("manifests/host.example/library/tinygemma");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("270m"), manifest).unwrap();
}

#[test]
fn list_shows_models_from_the_hf_cache_and_ollama() {
    let root = tempfile::tempdir().unwrap();
    fake_stores(root.path());
    let out = stdout(locallm(root.path(), &["list"]));
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    // NAME SIZE MB TYPE ARCH SOURCE
    let hf = line("someone/Tiny-GGUF/tiny-Q4_K_M.gguf");
    assert_eq!(&hf[3..], ["Q4_K_M", "llama", "hf-cache"], "{out}");
    let ollama = line("tinygemma:270m");
    assert_eq!(&ollama[3..], ["Q4_0", "gemma3", "ollama"], "{out}");
    // Nothing was written into the other tools' directories.
    assert!(!root.path().join("hf/hub/.locks").exists());
}

#[test]
fn model_names_resolve_everywhere_and_unknown_names_are_listed() {
    let root = tempfile::tempdir().unwrap();
    fake_stores(root.path());
    // `-m NAME` reaches the Ollama blob and the hub file: inspect reads them.
    for name in ["tinygemma:270m", "someone/Tiny-GGUF/tiny-Q4_K_M.gguf"] {
        let out = stdout(locallm(root.path(), &["inspect", "-m", name]));
        assert!(out.contains("token_embd.weight"), "{name}: {out}");
    }
    let out = locallm(root.path(), &["inspect", "--model", "no-such-model"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    for name in [
        "no-such-model",
        "gemma3-270m",
        "smollm2-135m-instruct-q4_1",
        "tinygemma:270m",
    ] {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
    // `pull` of a name that is not in the registry says which are.
    let out = locallm(root.path(), &["pull", "tinygemma:270m"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("gemma3-270m")
    );
}
