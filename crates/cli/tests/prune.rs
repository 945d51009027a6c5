//! `locallm prune`: a clear error for each kind of bad input, and a run that
//! writes the pruned file and a per-tensor summary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use locallm_quant::{GgmlType, GgufFile, MetaValue, TensorInfo, write_gguf};

fn texts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/texts")
}

fn prune(input: &Path, output: &Path, flags: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_locallm"))
        .arg("prune")
        .args([input, output])
        .args(flags)
        .output()
        .expect("run locallm")
}

fn error_of(out: Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn bad_input_gives_a_clear_error() {
    let model = locallm_models::default_model().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.gguf");
    let calib = texts().join("gfdl-1.3.txt");
    let calib = calib.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["--method", "magnitude", "--sparsity", "1"],
            "sparsity must be in [0, 1), got 1",
        ),
        (
            &["--method", "magnitude", "--sparsity", "-0.2"],
            "sparsity must be in [0, 1)",
        ),
        (
            &["--method", "wanda", "--nm", "4:2", "--calib", calib],
            "1 <= N < M",
        ),
        (
            &["--method", "magnitude", "--nm", "two:four"],
            "written like 2:4",
        ),
        (&["--method", "wanda"], "needs calibration text"),
        (
            &[
                "--method",
                "wanda",
                "--calib",
                calib,
                "--calib-tokens",
                "1000000",
            ],
            "were asked for",
        ),
    ];
    for (flags, message) in cases {
        let err = error_of(prune(&model, &out, flags));
        assert!(err.contains(message), "{flags:?}: {err}");
        assert!(!err.contains("panicked"), "{flags:?}: {err}");
    }
    assert!(!out.exists());
}

#[test]
fn a_model_without_its_tensors_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty.gguf");
    let u32_ = |v| MetaValue::U32(v);
    let metadata = [
        ("general.architecture", MetaValue::String("llama".into())),
        ("llama.block_count", u32_(1)),
        ("llama.embedding_length", u32_(8)),
        ("llama.feed_forward_length", u32_(16)),
        ("llama.attention.head_count", u32_(2)),
        ("llama.context_length", u32_(64)),
        ("llama.vocab_size", u32_(4)),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let embd = TensorInfo {
        name: "token_embd.weight".into(),
        shape: vec![8, 4],
        ggml_type: GgmlType::F32,
        offset: 0,
    };
    write_gguf(&input, &metadata, &[embd], |_| Ok(vec![0u8; 8 * 4 * 4])).unwrap();
    let err = error_of(prune(
        &input,
        &dir.path().join("out.gguf"),
        &["--method", "magnitude"],
    ));
    // the first of layer 0's tensors the loader asks for is named
    assert!(
        err.contains("tensor `blk.0.") && err.contains("` is missing"),
        "{err}"
    );
}

#[test]
fn magnitude_2_4_writes_the_file_and_a_summary() {
    let model = locallm_models::default_model().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pruned.gguf");
    let result = prune(&model, &out, &["--method", "magnitude", "--nm", "2:4"]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let stdout = String::from_utf8(result.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("blk.")).collect();
    assert_eq!(lines.len(), 30 * 7);
    // 2:4 zeroes exactly half; a few weights of the Q4_1 file were zero already
    for line in &lines {
        let pct: f64 = line
            .split_whitespace()
            .rev()
            .nth(1)
            .unwrap()
            .trim_end_matches('%')
            .parse()
            .unwrap();
        assert!((50.0..50.5).contains(&pct), "{line}");
    }
    assert!(
        stdout.contains("total: ") && stdout.contains("(50.00%)"),
        "{stdout}"
    );
    let saved = GgufFile::open(&out).unwrap();
    assert_eq!(
        saved.metadata.get_str("locallm.prune.method"),
        Some("magnitude 2:4")
    );
    assert_eq!(
        saved.tensor("blk.7.ffn_up.weight").unwrap().ggml_type,
        GgmlType::F32
    );
}
