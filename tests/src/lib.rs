//! End-to-end tests (in `tests/`), and helpers the crates' own tests share
//! as a dev-dependency.

use std::ffi::OsStr;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The kill tests' writer: runs the test `test` of this same test binary
/// again as a child process, with `env` set (the child sees it and becomes
/// the writer), and SIGKILLs it after `min_ms` plus a random part of
/// `spread_ms` milliseconds, salted by `trial` so that trials differ.
pub fn kill_after_random_delay<K, V>(
    test: &str,
    env: impl IntoIterator<Item = (K, V)>,
    trial: u64,
    min_ms: u64,
    spread_ms: u64,
) where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", test])
        .envs(env)
        .stdout(Stdio::null())
        .spawn()
        .expect("the writer starts");
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let random =
        (nanos ^ trial.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let delay = min_ms + random % spread_ms.max(1);
    std::thread::sleep(Duration::from_millis(delay));
    child.kill().expect("SIGKILL");
    child.wait().expect("the writer is reaped");
}

/// The golden file `tests/golden/<rel>` as JSON.
pub fn golden_json(rel: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A golden's list of numbers. Inputs written from f32 values are exact as
/// f64, so `as f32` gives back the same f32.
pub fn golden_f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("not a number: {x}")))
        .collect()
}

/// Asserts `|got - want| <= rel * max|want|` element by element: an error
/// relative to the tensor's scale, so that entries near zero are not held
/// to a tighter bound than the arithmetic that produced them.
pub fn assert_close_rel(what: &str, got: &[f32], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f64, |m, w| m.max(w.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (*g as f64 - w).abs();
        assert!(
            err <= rel * scale,
            "{what}[{i}]: ours {g}, reference {w} (error {err:.3e}, allowed {:.3e})",
            rel * scale
        );
    }
}
