//! Model families through the binary: Gemma 3 270M by name continues text as
//! llama.cpp does on its F32-dequantized weights, and scores the GPL-3 text
//! within 0.2% of llama-perplexity's on them (`scripts/golden_arch.sh
//! --gemma`); an unsupported architecture is refused
//! first, by name, with the supported list; `chat` on a model without a chat
//! template says to use `generate`.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{golden, golden_dir};

fn run(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_locallm"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run locallm");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The one-line error of a run that must fail with exit code 1.
fn refused(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn gemma3_by_name_continues_like_llamacpp() {
    let reference = golden("generate/gemma3_270m_greedy_f32.json");
    for case in reference["cases"].as_array().unwrap().iter().take(2) {
        let prompt = case["prompt"].as_str().unwrap();
        let out = run(
            &[
                "generate",
                "-m",
                "gemma3-270m",
                "--raw",
                "--temperature",
                "0",
                "--prompt",
                prompt,
                "--max-tokens",
                "12",
            ],
            "",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = String::from_utf8(out.stdout).unwrap();
        let ours = ours.strip_suffix('\n').unwrap();
        // 12 of llama.cpp's 32 greedy tokens: our text is a prefix of its text
        let expected = case["text"].as_str().unwrap();
        assert!(
            ours.len() > 8 && expected.starts_with(ours),
            "{prompt:?}: ours {ours:?}\nllama.cpp {expected:?}"
        );
    }
}

#[test]
fn gemma3_perplexity_within_0_2_percent_of_llama_perplexity() {
    let text = golden_dir().join("texts/gpl-3.txt");
    let theirs = golden("perplexity/gemma3_270m_f32_gpl3_ctx128.json");
    let out = run(
        &[
            "perplexity",
            "-m",
            "gemma3-270m",
            "--file",
            text.to_str().unwrap(),
            "--ctx",
            "128",
            "--json",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ours["chunks"], theirs["n_chunks"]);
    assert_eq!(ours["tokens_scored"], theirs["scored_tokens"]);
    let (a, b) = (
        ours["ppl"].as_f64().unwrap(),
        theirs["ppl"].as_f64().unwrap(),
    );
    eprintln!(
        "perplexity: ours {a:.4}, llama.cpp {b:.4} ({:+.3}%)",
        100.0 * (a - b) / b
    );
    assert!((a - b).abs() / b < 0.002, "ours {a} vs llama.cpp {b}");
}

#[test]
fn an_unsupported_architecture_is_refused_before_its_tokenizer() {
    use locallm_quant::{GgmlType, MetaValue, TensorInfo, write_gguf};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bert.gguf");
    // no tokenizer keys at all: the architecture must be what is named
    let meta = [(
        "general.architecture".to_string(),
        MetaValue::String("bert".into()),
    )];
    let t = TensorInfo {
        name: "token_embd.weight".into(),
        shape: vec![8, 4],
        ggml_type: GgmlType::F32,
        offset: 0,
    };
    write_gguf(&path, &meta, &[t], |_| Ok(vec![0u8; 8 * 4 * 4])).unwrap();
    let p = path.to_str().unwrap();
    for args in [
        &["generate", "-m", p, "--prompt", "hi"][..],
        &["chat", "-m", p][..],
    ] {
        let err = refused(run(args, ""));
        assert!(
            err.contains(
                "architecture `bert` is not supported (supported: llama, qwen2, qwen3, gemma3, phi3)"
            ),
            "{args:?}: {err}"
        );
        assert!(!err.contains("tokenizer"), "{args:?}: {err}");
    }
}

#[test]
fn chat_on_a_base_model_says_to_use_generate() {
    // the tiny llama of the family goldens has a vocabulary and no template
    let model = golden_dir().join("arch/llama.gguf");
    assert!(Path::new(&model).exists());
    let err = refused(run(&["chat", "-m", model.to_str().unwrap()], "hello\n"));
    assert!(
        err.contains("has no chat template") && err.contains("locallm generate"),
        "{err}"
    );
}
