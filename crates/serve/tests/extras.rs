//! The server extras: `/tokenize` and `/detokenize` against llama-server's
//! answers (tests/golden/server/extras.json, written by
//! scripts/golden_server_extras.sh), `/metrics` read by the Prometheus
//! Python client's own parser, `--cors-origin` as a browser's preflight sees
//! it, and `--alias`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use locallm_serve::{ServeConfig, Server};
use serde_json::{Value, json};

fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/server/extras.json"
    );
    let text = std::fs::read_to_string(path).expect("run scripts/golden_server_extras.sh");
    serde_json::from_str(&text).unwrap()
}

fn get(server: &Server, path: &str) -> common::Response {
    let auth = format!("Bearer {}", common::KEY);
    common::request(server.addr(), "GET", path, &[("Authorization", &auth)], b"")
}

#[test]
fn tokenize_and_detokenize_answer_as_llama_server_does() {
    let server = common::start(2, 512, 1 << 20);
    let golden = golden();
    for endpoint in ["tokenize", "detokenize"] {
        let cases = golden[endpoint].as_array().unwrap();
        assert!(cases.len() >= 8);
        for case in cases {
            let r = common::post(server.addr(), &format!("/{endpoint}"), &case["request"]);
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(r.json(), case["response"], "{endpoint} {}", case["request"]);
        }
    }
    // ids outside the vocabulary are the caller's mistake
    let r = common::post(server.addr(), "/detokenize", &json!({"tokens": [1 << 30]}));
    assert_eq!(r.status, 400, "{}", r.text());
    let r = common::post(server.addr(), "/tokenize", &json!({"content": ["a"]}));
    assert_eq!(r.status, 400, "{}", r.text());
}

/// `/metrics` through `prometheus_client.parser` (the format's reference
/// parser): the families, their types and samples, as JSON.
fn parse_exposition(text: &str) -> Vec<Value> {
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = [{"name": f.name, "type": f.type,
        "samples": [[s.name, s.labels, s.value] for s in f.samples]}
       for f in text_string_to_metric_families(sys.stdin.read())]
print(json.dumps(out))
"#;
    locallm_tests::python::require_modules(&["prometheus_client"]);
    let mut child = Command::new(locallm_tests::python::python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sample<'a>(families: &'a [Value], name: &str) -> Vec<&'a Value> {
    families
        .iter()
        .flat_map(|f| f["samples"].as_array().unwrap())
        .filter(|s| s[0] == name)
        .collect()
}

#[test]
fn metrics_are_prometheus_text_with_llama_cpp_names() {
    let server = common::start(2, 512, 1 << 20);
    let ask = json!({
        "model": server.model_id(), "max_tokens": 5, "temperature": 0,
        "messages": [{"role": "user", "content": "Say hi"}],
    });
    let r = common::post(server.addr(), "/v1/chat/completions", &ask);
    assert_eq!(r.status, 200);
    let usage = r.json()["usage"].clone();
    let r = common::post(server.addr(), "/v1/nothing-here", &json!({}));
    assert_eq!(r.status, 404);

    let r = get(&server, "/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let families = parse_exposition(&r.text());

    // every llamacpp: metric exists in llama-server's /metrics, same type
    let theirs = golden()["metrics"].clone();
    let ours: Vec<&Value> = families
        .iter()
        .filter(|f| f["name"].as_str().unwrap().starts_with("llamacpp:"))
        .collect();
    assert!(ours.len() >= 6);
    for f in ours {
        // the parser drops a counter's `_total` from the family name
        let name = f["name"].as_str().unwrap();
        let kind = &f["type"];
        let exposed = if kind == "counter" {
            format!("{name}_total")
        } else {
            name.to_string()
        };
        assert_eq!(&theirs[&exposed], kind, "{exposed}");
    }

    let value = |name: &str| sample(&families, name)[0][2].as_f64().unwrap();
    let completion = usage["completion_tokens"].as_f64().unwrap();
    assert_eq!(value("llamacpp:tokens_predicted_total"), completion);
    let prompt = usage["prompt_tokens"].as_f64().unwrap();
    let computed = value("llamacpp:prompt_tokens_total");
    assert_eq!(
        computed + value("llamacpp:prompt_tokens_cached_total"),
        prompt
    );
    assert!(value("llamacpp:prompt_seconds_total") > 0.0);
    assert_eq!(value("llamacpp:requests_processing"), 0.0);
    assert_eq!(value("llamacpp:requests_deferred"), 0.0);
    assert_eq!(value("locallm:requests_finished_total"), 1.0);
    assert_eq!(value("locallm:time_to_first_token_seconds_count"), 1.0);
    assert_eq!(value("locallm:decode_tokens_per_second_count"), 1.0);
    // requests by route (the router's pattern) and status; this scrape is
    // counted after it is answered
    let requests = sample(&families, "locallm:http_requests_total");
    let count = |route: &str, status: &str| {
        requests
            .iter()
            .find(|s| s[1]["route"] == route && s[1]["status"] == status)
            .map_or(0.0, |s| s[2].as_f64().unwrap())
    };
    assert_eq!(count("/v1/chat/completions", "200"), 1.0, "{requests:?}");
    assert_eq!(count("unmatched", "404"), 1.0, "{requests:?}");
    assert_eq!(count("/metrics", "200"), 0.0);

    // the key protects it, like the APIs
    let r = common::request(server.addr(), "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 401);
    // and without --cors-origin, no CORS header at all
    let origin = [("Origin", "http://localhost:3000")];
    let r = common::request(server.addr(), "GET", "/health", &origin, b"");
    assert!(
        r.headers
            .iter()
            .all(|(n, _)| !n.to_ascii_lowercase().starts_with("access-control")),
        "{:?}",
        r.headers
    );
}

#[test]
fn cors_origin_and_alias() {
    let config = ServeConfig {
        port: 0,
        alias: Some("tiny".into()),
        cors_origins: vec!["http://localhost:3000".into()],
        ..ServeConfig::new(common::model_path())
    };
    let server = Server::start(config).expect("server starts");
    let addr = server.addr();

    // a browser's preflight: answered before any key check, for the origin
    let preflight = [
        ("Origin", "http://localhost:3000"),
        ("Access-Control-Request-Method", "POST"),
        (
            "Access-Control-Request-Headers",
            "content-type,authorization",
        ),
    ];
    let r = common::request(addr, "OPTIONS", "/api/chat", &preflight, b"");
    assert_eq!(r.status, 200, "{:?}", r.headers);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    let methods = r.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type,authorization")
    );
    let r = common::request(addr, "GET", "/api/tags", &preflight[..1], b"");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    // another origin gets no permission
    let other = [("Origin", "http://elsewhere.test")];
    let r = common::request(addr, "GET", "/api/tags", &other, b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);

    // --alias: the name in every API; the file's name is not this model
    assert_eq!(server.model_id(), "tiny");
    let tags = r.json();
    assert_eq!(tags["models"][0]["name"], "tiny");
    let r = common::request(addr, "GET", "/v1/models", &[], b"");
    assert_eq!(r.json()["data"][0]["id"], "tiny");
    let ask = json!({"model": "SmolLM2-135M-Instruct.Q4_1", "stream": false,
                     "messages": [{"role": "user", "content": "hi"}]});
    let r = common::post(addr, "/api/chat", &ask);
    assert_eq!(r.status, 404, "{}", r.text());

    // a malformed origin or an empty alias stops the server before it binds
    for config in [
        ServeConfig {
            port: 0,
            cors_origins: vec!["localhost:3000".into()],
            ..ServeConfig::new(common::model_path())
        },
        ServeConfig {
            port: 0,
            alias: Some(" ".into()),
            ..ServeConfig::new(common::model_path())
        },
    ] {
        let err = Server::start(config).err().expect("refused");
        let message = err.to_string();
        assert!(
            message.contains("--cors-origin") || message.contains("--alias"),
            "{message}"
        );
    }
}
