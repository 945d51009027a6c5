//! The Ollama API: the official `ollama` Python client against the real
//! server (tests/sdk/ollama_client.py), the raw NDJSON bytes as a shell
//! script sees them, and the committed client configurations of
//! examples/clients/ (Continue, Open WebUI) with the requests those clients
//! send (tests/sdk/client_configs.py). The Python packages must be
//! installed (`.ci/run` does it); if they are missing the test fails and
//! says how to install them.

mod common;

use std::path::Path;

use locallm_serve::{ServeConfig, Server};
use serde_json::{Value, json};

#[test]
fn ollama_python_client() {
    locallm_tests::python::require_modules(&["ollama"]);
    let ctx = 1024;
    let server = common::start(4, ctx, 1 << 20);
    common::run_python(
        "ollama_client.py",
        &[
            ("LOCALLM_URL", server.url()),
            ("LOCALLM_KEY", common::KEY.to_string()),
            ("LOCALLM_MODEL", server.model_id().to_string()),
            ("LOCALLM_CTX", ctx.to_string()),
            (
                "LOCALLM_MODEL_PATH",
                common::model_path().display().to_string(),
            ),
        ],
    );
}

/// Continue's config.yaml and Open WebUI's settings, as committed: the
/// server they expect is `locallm serve --alias smollm2` with the default
/// context (only the port differs here).
#[test]
fn committed_client_configs_work_against_the_server() {
    locallm_tests::python::require_modules(&["yaml"]);
    let config = ServeConfig {
        port: 0,
        alias: Some("smollm2".into()),
        ..ServeConfig::new(common::model_path())
    };
    let server = Server::start(config).expect("server starts");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/clients");
    common::run_python(
        "client_configs.py",
        &[
            ("LOCALLM_URL", server.url()),
            ("LOCALLM_EXAMPLES", examples.display().to_string()),
        ],
    );
}

/// The bytes of a stream: NDJSON (not server-sent events), one object per
/// line, streamed by default, the statistics in the last object.
#[test]
fn chat_streams_ndjson_by_default() {
    let server = common::start(2, 512, 1 << 20);
    let ask = json!({
        "model": server.model_id(),
        "messages": [{"role": "user", "content": "Say hi"}],
        "options": {"num_predict": 6, "temperature": 0},
    });
    let r = common::post(server.addr(), "/api/chat", &ask);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let text = r.text();
    assert!(text.ends_with("}\n"), "{text}");
    let objects: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let (last, pieces) = objects.split_last().expect("objects");
    assert!(
        pieces
            .iter()
            .all(|o| o["done"] == false && o["message"]["role"] == "assistant")
    );
    assert_eq!(last["done"], true);
    assert_eq!(last["message"], json!({"role": "assistant", "content": ""}));
    for key in [
        "total_duration",
        "load_duration",
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_count",
        "eval_duration",
    ] {
        assert!(last[key].is_u64(), "{key}: {last}");
    }
    assert!(last["eval_count"].as_u64().unwrap() <= 6);
    assert!(["stop", "length"].contains(&last["done_reason"].as_str().unwrap()));

    // the same greedy answer, whole
    let streamed: String = pieces
        .iter()
        .map(|o| o["message"]["content"].as_str().unwrap())
        .collect();
    let mut whole = ask.clone();
    whole["stream"] = json!(false);
    let r = common::post(server.addr(), "/api/chat", &whole);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["message"]["content"], streamed);

    // an error is Ollama's one-field object
    let mut bad = ask.clone();
    bad["options"] = json!({"num_thread": 4});
    let r = common::post(server.addr(), "/api/chat", &bad);
    assert_eq!(r.status, 400);
    let error = r.json();
    assert_eq!(error.as_object().unwrap().len(), 1, "{error}");
    assert!(
        error["error"].as_str().unwrap().contains("num_thread"),
        "{error}"
    );
}
