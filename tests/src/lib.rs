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
