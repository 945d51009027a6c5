//! llama-server's `grammar` field on the OpenAI endpoints: a GBNF grammar
//! the answer follows, checked against llama.cpp's grammar sampler
//! (tests/golden/gbnf/generate.json, scripts/golden_gbnf.sh).

mod common;

use common::post;
use serde_json::{Value, json};

fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/gbnf/generate.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn grammar_constrains_completions_and_chat_like_llamacpp() {
    let server = common::start(1, 512, 1 << 16);
    let g = golden();
    for case in g["cases"].as_array().unwrap() {
        let name = case["grammar"].as_str().unwrap();
        // greedy on the quantized path with f32 activations follows
        // llama.cpp on the F32-dequantized weights: the same tokens
        let r = post(
            server.addr(),
            "/v1/completions",
            &json!({
                "model": server.model_id(),
                "prompt": case["prompt"],
                "max_tokens": case["max_tokens"],
                "temperature": 0,
                "grammar": g["grammars"][name],
            }),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["choices"][0]["text"], case["text"], "{name}");
    }

    let r = post(
        server.addr(),
        "/v1/chat/completions",
        &json!({
            "model": server.model_id(),
            "messages": [{"role": "user", "content": "Is the sky green?"}],
            "temperature": 1.0,
            "seed": 3,
            "grammar": "root ::= (\"Yes\" | \"No\") \".\"",
        }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(["Yes.", "No."].contains(&content), "{content:?}");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
}

#[test]
fn a_bad_grammar_or_two_grammars_are_a_400() {
    let server = common::start(1, 512, 1 << 16);
    let chat = |extra: Value| {
        let mut body = json!({
            "model": server.model_id(),
            "messages": [{"role": "user", "content": "hi"}],
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        post(server.addr(), "/v1/chat/completions", &body)
    };
    let r = chat(json!({"grammar": "root ::= \"a\" item"}));
    assert_eq!(r.status, 400, "{}", r.text());
    let error = &r.json()["error"];
    assert_eq!(error["param"], "grammar");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("rule 'item' is used but never defined") && message.contains("line 1"),
        "{message}"
    );
    let r = chat(json!({"grammar": "root ::= \"a\"", "response_format": {"type": "json_object"}}));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["param"], "grammar");
    let r = post(
        server.addr(),
        "/v1/completions",
        &json!({"model": server.model_id(), "prompt": "x", "grammar": "root ::= expr\nexpr ::= expr \"+\" | \"1\""}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("left-recursive"), "{}", r.text());
}
