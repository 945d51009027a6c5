//! The official `openai` and `anthropic` Python SDKs against the real server:
//! the scripts in `tests/sdk/` make requests the way applications do and
//! check what the SDKs parse out of our answers (objects, streams, typed
//! errors); and the chat page in headless Chromium. The SDKs, Selenium and
//! Debian's chromium/chromium-driver must be installed (`.ci/run` does it);
//! if they are missing the test fails and says how to install them.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

const CTX: usize = 512;

fn run_script(server: &locallm_serve::Server, script: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script);
    let out = Command::new("python3")
        .arg(&path)
        .env("LOCALLM_URL", server.url())
        .env("LOCALLM_KEY", common::KEY)
        .env("LOCALLM_MODEL", server.model_id())
        .env("LOCALLM_CTX", CTX.to_string())
        .env("LOCALLM_SCREENSHOT", screenshot())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where the browser test leaves its screenshot (a test artefact).
fn screenshot() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("chat-page.png")
}

fn require_sdks() {
    let found = Command::new("python3")
        .args(["-c", "import openai, anthropic"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "the Python SDKs are missing: install them with \
         `python3 -m pip install openai anthropic` (as .ci/run does)"
    );
}

/// One server for both scripts; they run one after the other because each
/// relies on the KV cache holding its own previous request.
fn server() -> std::sync::MutexGuard<'static, locallm_serve::Server> {
    static SERVER: std::sync::OnceLock<Mutex<locallm_serve::Server>> = std::sync::OnceLock::new();
    SERVER
        .get_or_init(|| Mutex::new(common::start(4, CTX, 1 << 20)))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

#[test]
fn openai_python_sdk() {
    require_sdks();
    run_script(&server(), "openai_client.py");
}

#[test]
fn anthropic_python_sdk() {
    require_sdks();
    run_script(&server(), "anthropic_client.py");
}

#[test]
fn chat_page_in_headless_chromium() {
    let found = Path::new("/usr/bin/chromium").exists()
        && Path::new("/usr/bin/chromedriver").exists()
        && Command::new("python3")
            .args(["-c", "import selenium"])
            .output()
            .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "the browser test needs Debian's chromium and chromium-driver and Selenium: \
         `apt-get install chromium chromium-driver && python3 -m pip install selenium` \
         (as .ci/run does)"
    );
    run_script(&server(), "browser_chat.py");
    assert!(screenshot().exists());
}
