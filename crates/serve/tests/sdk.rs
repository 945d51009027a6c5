//! The official `openai` and `anthropic` Python SDKs against the real server:
//! the scripts in `tests/sdk/` make requests the way applications do and
//! check what the SDKs parse out of our answers (objects, streams, typed
//! errors); curl for the raw bytes of a stream; and the chat page in headless Chromium. The SDKs, Selenium and
//! Debian's chromium/chromium-driver must be installed (`scripts/test.sh
//! --setup` does it, into the project's `.venv`); if they are missing the
//! test fails and says how to install them.

mod common;

use locallm_tests::python;

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

const CTX: usize = 512;

fn run_script(server: &locallm_serve::Server, script: &str) {
    let envs = [
        ("LOCALLM_URL", server.url()),
        ("LOCALLM_KEY", common::KEY.to_string()),
        ("LOCALLM_MODEL", server.model_id().to_string()),
        ("LOCALLM_CTX", CTX.to_string()),
        ("LOCALLM_SCREENSHOT", screenshot().display().to_string()),
        ("LOCALLM_LOGPROBS_OUT", logprobs_out().display().to_string()),
    ];
    common::run_python(script, &envs);
}

/// Where `openai_client.py` leaves the logprobs the SDK parsed.
fn logprobs_out() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdk-logprobs.json")
}

/// Where the browser test leaves its screenshot (a test artefact).
fn screenshot() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("chat-page.png")
}

fn require_sdks() {
    python::require_modules(&["openai", "anthropic"]);
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
    sdk_logprobs_are_the_perplexity_path_s();
}

/// Every request field of the installed SDK is used, honoured or refused.
#[test]
fn openai_sdk_fields_are_each_decided() {
    require_sdks();
    run_script(&server(), "openai_fields.py");
}

// ANCHOR: sdk_logprobs
/// What the SDK parsed from `logprobs=True, top_logprobs=5` is the model's
/// distribution as perplexity computes it: one uncached pass over the
/// prompt and the answer (`next_token_log_probs`), the top 5 of each row.
fn sdk_logprobs_are_the_perplexity_path_s() {
    use locallm_tokenizer::{Message, Tokenizer};
    let got: serde_json::Value =
        serde_json::from_slice(&std::fs::read(logprobs_out()).unwrap()).unwrap();
    let gguf = std::sync::Arc::new(locallm_quant::GgufFile::open(common::model_path()).unwrap());
    let tokenizer = Tokenizer::from_metadata(&gguf.metadata).unwrap();
    let messages: Vec<Message> = (got["messages"].as_array().unwrap().iter())
        .map(|m| Message::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    let text = tokenizer
        .chat_template()
        .unwrap()
        .render(&messages, true)
        .unwrap();
    let mut tokens = tokenizer.encode_prompt(&text).unwrap();
    let prompt_len = tokens.len();
    // the answer's ids, from the bytes the SDK saw (one normal token each)
    let id_of = |bytes: &serde_json::Value| -> u32 {
        let bytes: Vec<u8> = serde_json::from_value(bytes.clone()).unwrap();
        let ids: Vec<u32> = (0..tokenizer.vocab_size() as u32)
            .filter(|&id| tokenizer.token_to_piece(id).is_ok_and(|p| p == bytes))
            .collect();
        assert_eq!(ids.len(), 1, "{bytes:?}");
        ids[0]
    };
    let content = got["content"].as_array().unwrap();
    tokens.extend(content.iter().map(|t| id_of(&t["bytes"])));

    let device = locallm_model::default_device().unwrap();
    let options = locallm_model::LoadOptions::default();
    let model = locallm_model::load_llama_for_inference(&gguf, &device, &options).unwrap();
    let rows = locallm_infer::next_token_log_probs(&model, &tokens, None, &device);
    let rows = rows.into_data().try_to_vec::<f32>().unwrap();
    let vocab = rows.len() / tokens.len();
    for (i, t) in content.iter().enumerate() {
        let row = &rows[(prompt_len - 1 + i) * vocab..][..vocab]; // predicts token prompt_len + i
        let mut best: Vec<u32> = (0..vocab as u32).collect();
        best.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]));
        let top = t["top"].as_array().unwrap();
        let ids: Vec<u32> = top.iter().map(|a| id_of(&a["bytes"])).collect();
        assert_eq!(ids, best[..5], "token {i}");
        for (a, id) in top.iter().zip(ids) {
            // the server decodes with a KV cache, one token at a time: the
            // sums run in another order (crates/infer/tests/logprobs.rs)
            let diff = (a["logprob"].as_f64().unwrap() as f32 - row[id as usize]).abs();
            assert!(diff < 1e-3, "token {i}: {diff}");
        }
    }
}
// ANCHOR_END: sdk_logprobs

#[test]
fn anthropic_python_sdk() {
    require_sdks();
    run_script(&server(), "anthropic_client.py");
}

#[test]
fn chat_page_in_headless_chromium() {
    let found =
        Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists();
    assert!(
        found,
        "the browser test needs Debian's chromium and chromium-driver: `{}` installs them",
        python::SETUP
    );
    python::require_modules(&["selenium"]);
    run_script(&server(), "browser_chat.py");
    assert!(screenshot().exists());
}

/// `curl -N`: the raw bytes of a stream, as a shell script sees them.
fn curl_stream(server: &locallm_serve::Server, path: &str, body: &serde_json::Value) -> String {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-N",
            "-D",
            "-",
            "-H",
            "content-type: application/json",
        ])
        .args(["-H", &format!("authorization: Bearer {}", common::KEY)])
        .args(["--data-binary", &body.to_string()])
        .arg(format!("{}{path}", server.url()))
        .output()
        .expect("curl runs (apt-get install curl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn curl_sees_the_raw_sse_shape() {
    let server = server();
    let ask = serde_json::json!({
        "model": server.model_id(), "max_tokens": 6, "stream": true,
        "messages": [{"role": "user", "content": "Say hi"}],
    });
    let raw = curl_stream(&server, "/v1/chat/completions", &ask);
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .expect("headers, then the stream");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    // OpenAI: only `data:` events, each ended by a blank line, `[DONE]` last
    let events: Vec<&str> = body.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert!(events.iter().all(|e| e.starts_with("data: ")), "{body}");
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    assert!(body.ends_with("data: [DONE]\n\n"));
    for e in &events[..events.len() - 1] {
        let chunk: serde_json::Value = serde_json::from_str(&e["data: ".len()..]).unwrap();
        assert_eq!(chunk["object"], "chat.completion.chunk");
    }

    // Anthropic: named events, `event:` then `data:`
    let ask = serde_json::json!({
        "model": server.model_id(), "max_tokens": 6, "stream": true,
        "messages": [{"role": "user", "content": "Say hi"}],
    });
    let raw = curl_stream(&server, "/v1/messages", &ask);
    let body = raw.split_once("\r\n\r\n").unwrap().1;
    let names: Vec<&str> = body
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (event, data) = e.split_once('\n').expect("two lines");
            let name = event.strip_prefix("event: ").expect("event line");
            let value: serde_json::Value =
                serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(value["type"], name);
            name
        })
        .collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
}
