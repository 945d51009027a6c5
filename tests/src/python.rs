//! The Python the client tests run: the project's virtualenv (`.venv` at the
//! repository root, which `scripts/test.sh` makes and fills), else the
//! `python3` on PATH. A test that lacks its client fails and names the one
//! command that installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The command that installs every test dependency (and only that).
pub const SETUP: &str = "bash scripts/test.sh --setup";

/// The Python packages the tests import, as `scripts/test.sh` installs them
/// (keep the two lists equal: a test in `tests/tests/` checks it).
pub const PACKAGES: [&str; 9] = [
    "openai",
    "anthropic",
    "selenium",
    "chromadb",
    "ollama",
    "jsonschema",
    "pydantic",
    "pyyaml",
    "prometheus_client",
];

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// `.venv/bin` of the repository.
pub fn venv_bin() -> PathBuf {
    root().join(".venv/bin")
}

/// The venv's `python3` if there is a venv, else `python3` from PATH.
pub fn python() -> PathBuf {
    let venv = venv_bin().join("python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// A program the venv installed (`chroma`), else the name for PATH.
pub fn program(name: &str) -> PathBuf {
    let venv = venv_bin().join(name);
    if venv.exists() {
        venv
    } else {
        PathBuf::from(name)
    }
}

/// Panics, naming [`SETUP`], unless [`python`] imports every module.
pub fn require_modules(modules: &[&str]) {
    let python = python();
    let imports = format!("import {}", modules.join(", "));
    let out = Command::new(&python).args(["-c", &imports]).output();
    let ok = out.as_ref().is_ok_and(|o| o.status.success());
    let why = match &out {
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) => format!("cannot run {}: {e}", python.display()),
    };
    assert!(
        ok,
        "this test needs the Python modules {modules:?} in {} ({why}). \
         Install every test dependency with `{SETUP}`",
        python.display()
    );
}
