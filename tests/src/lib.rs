//! End-to-end tests (in `tests/`), and helpers the crates' own tests share
//! as a dev-dependency.

pub mod python;

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a writer may take to begin its first write. Generous: a machine
/// busy with two builds can take seconds just to start a test binary.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// The kill tests' writer, killed inside a write.
///
/// Runs the test `test` of this same test binary again as a child process,
/// with `env` set (the child sees it and becomes the writer, writing over and
/// over). A writer that is inside a write has a temporary file in `dir` that
/// was not there before the child started: every writer here writes a hidden
/// temporary file (its name starts with a dot) next to its destination, then
/// renames it. Other new files (a fetch's stamp) do not count. So: wait until
/// such a file appears (the writer has begun), let it run on for a random
/// part of `spread_ms` (salted by `trial` so that trials differ), wait until
/// it is inside a write again, and SIGKILL it at once.
///
/// Waiting for the write instead of sleeping a fixed time is what makes the
/// kill land mid-write on a loaded machine, where a child may need seconds
/// to start: the only gap left is the microseconds between seeing the
/// temporary file and the kill, against writes that take milliseconds.
pub fn kill_inside_a_write<K, V>(
    test: &str,
    env: impl IntoIterator<Item = (K, V)>,
    dir: &Path,
    trial: u64,
    spread_ms: u64,
) where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let before = names_in(dir);
    let writing = || {
        let now = names_in(dir);
        let mut new = now.difference(&before);
        new.any(|name| name.as_encoded_bytes().starts_with(b"."))
    };
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", test])
        .envs(env)
        .stdout(Stdio::null())
        .spawn()
        .expect("the writer starts");
    let wait_for_a_write = |child: &mut std::process::Child| {
        let started = Instant::now();
        while !writing() {
            if let Some(status) = child.try_wait().expect("the writer's status") {
                panic!(
                    "the writer exited ({status}) before writing in {}",
                    dir.display()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "the writer wrote nothing in {} within {START_TIMEOUT:?}",
                dir.display()
            );
            std::thread::sleep(Duration::from_micros(200));
        }
    };
    wait_for_a_write(&mut child);
    std::thread::sleep(Duration::from_millis(random_below(trial, spread_ms)));
    wait_for_a_write(&mut child);
    child.kill().expect("SIGKILL");
    child.wait().expect("the writer is reaped");
}

/// The names of the entries of `dir` (none if it cannot be read).
fn names_in(dir: &Path) -> HashSet<OsString> {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default()
}

/// A number in `0..n` (0 if `n` is 0) that differs between calls and trials.
pub fn random_below(trial: u64, n: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let random =
        (nanos ^ trial.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0x2545_F491_4F6C_DD1D);
    random % n.max(1)
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
