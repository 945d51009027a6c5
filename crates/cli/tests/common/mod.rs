//! Helpers shared by the CLI's integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

pub fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
}

pub fn golden(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(golden_dir().join(rel)).unwrap()).unwrap()
}

/// Runs `locallm ARGS` on the default model (fetched once if missing).
pub fn locallm(args: &[&str]) -> Output {
    locallm_models::default_model().expect("the default model");
    Command::new(env!("CARGO_BIN_EXE_locallm"))
        .args(args)
        .output()
        .expect("run locallm")
}

/// Runs `locallm ARGS` with `input` on its stdin.
pub fn locallm_with_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    locallm_models::default_model().expect("the default model");
    let mut child = Command::new(env!("CARGO_BIN_EXE_locallm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run locallm");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// The stdout of a run that must succeed.
pub fn ok_stdout(out: Output) -> String {
    assert!(
        out.status.success(),
        "locallm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// The stderr of a run that must fail.
pub fn err_stderr(out: Output) -> String {
    assert!(!out.status.success(), "locallm should have failed");
    String::from_utf8(out.stderr).expect("utf-8 stderr")
}
