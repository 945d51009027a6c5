//! Model families through the binary: Gemma 3 270M by name continues text as
//! llama.cpp does on its F32-dequantized weights, and scores the GPL-3 text
//! within 0.2% of llama-perplexity's on them and within 1% of its score on
//! the Q4_K_M file itself (`scripts/golden_arch.sh --gemma`); an unsupported architecture is refused
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

/// `locallm perplexity -m gemma3-270m` on the GPL-3 text, 128-token chunks,
/// run once and held to two llama-perplexity results (same chunks, same
/// scored tokens). Ours multiplies the Q4_K_M file's blocks with f32
/// activations, which is the F32-dequantized model's arithmetic: within 0.2%
/// of llama.cpp on that F32 copy; and within 1% of llama.cpp on the Q4_K_M
/// file itself, where it rounds the activations to 8 bits and we do not.
/// Each golden's `check` says why its tolerance is what it is.
#[test]
fn gemma3_perplexity_matches_llama_perplexity_on_f32_and_on_the_q4_k_m_file() {
    let text = golden_dir().join("texts/gpl-3.txt");
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
    let a = ours["ppl"].as_f64().unwrap();
    for (file, tol) in [
        ("perplexity/gemma3_270m_f32_gpl3_ctx128.json", 0.002),
        ("perplexity/gemma3_270m_q4_k_m_gpl3_ctx128.json", 0.01),
    ] {
        let theirs = golden(file);
        assert_eq!(ours["chunks"], theirs["n_chunks"], "{file}");
        assert_eq!(ours["tokens_scored"], theirs["scored_tokens"], "{file}");
        let b = theirs["ppl"].as_f64().unwrap();
        eprintln!(
            "{file}: ours {a:.4}, llama.cpp {b:.4} ({:+.3}%)",
            100.0 * (a - b) / b
        );
        assert!((a - b).abs() / b < tol, "{file}: ours {a} vs llama.cpp {b}");
    }
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
