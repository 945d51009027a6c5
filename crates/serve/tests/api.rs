//! The server over raw HTTP, with the real default model: every documented
//! error case (status and shape, in both APIs), the answers, and the exact
//! shape of the OpenAI and Anthropic event streams.

mod common;

use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use common::{KEY, Sse, chat_stream_text, post, request};
use locallm_serve::Server;
use locallm_tokenizer::{Message, Tokenizer};
use serde_json::{Value, json};

const CTX: usize = 512;
const BODY_LIMIT: usize = 16 << 10;

/// One server for this file. Tests that compare answers or read the KV-cache
/// reuse take the lock exclusively, so that no other request runs in between.
struct Shared {
    server: Server,
    tokenizer: Tokenizer,
    lock: RwLock<()>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let gguf = locallm_quant::GgufFile::open(common::model_path()).unwrap();
        Shared {
            server: common::start(16, CTX, BODY_LIMIT),
            tokenizer: Tokenizer::from_metadata(&gguf.metadata).unwrap(),
            lock: RwLock::new(()),
        }
    })
}

fn server() -> (&'static Server, RwLockReadGuard<'static, ()>) {
    let s = shared();
    (&s.server, s.lock.read().unwrap_or_else(|e| e.into_inner()))
}

fn exclusive() -> (&'static Server, RwLockWriteGuard<'static, ()>) {
    let s = shared();
    (&s.server, s.lock.write().unwrap_or_else(|e| e.into_inner()))
}

fn chat_body(server: &Server, content: &str, max_tokens: usize) -> Value {
    json!({
        "model": server.model_id(),
        "messages": [{"role": "user", "content": content}],
        "max_tokens": max_tokens,
        "temperature": 0,
    })
}

fn anthropic_body(server: &Server, content: &str, max_tokens: usize) -> Value {
    json!({
        "model": server.model_id(),
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": content}],
        "temperature": 0,
    })
}

/// An error in OpenAI's shape: `{"error": {message, type, param, code}}`.
fn assert_openai_error(r: &common::Response, status: u16, kind: &str) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    let body = r.json();
    let error = &body["error"];
    for field in ["message", "type", "param", "code"] {
        assert!(error.get(field).is_some(), "no {field} in {body}");
    }
    assert_eq!(error["type"], kind, "{body}");
    assert!(!error["message"].as_str().unwrap().is_empty());
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        r.headers
    );
    body
}

/// An error in Anthropic's shape: `{"type": "error", "error": {type, message}}`.
fn assert_anthropic_error(r: &common::Response, status: u16, kind: &str) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    let body = r.json();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    body
}

#[test]
fn models_lists_the_loaded_model() {
    let (server, _g) = server();
    let auth = format!("Bearer {KEY}");
    let r = request(
        server.addr(),
        "GET",
        "/v1/models",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"][0]["id"], server.model_id());
    assert_eq!(body["data"][0]["object"], "model");
    assert_eq!(server.model_id(), "SmolLM2-135M-Instruct.Q4_1");

    let path = format!("/v1/models/{}", server.model_id());
    let r = request(
        server.addr(),
        "GET",
        &path,
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.json()["id"], server.model_id());
    let r = request(
        server.addr(),
        "GET",
        "/v1/models/gpt-4o",
        &[("Authorization", &auth)],
        b"",
    );
    assert_openai_error(&r, 404, "invalid_request_error");
}

#[test]
fn missing_or_wrong_key_is_401_in_each_shape() {
    let (server, _g) = server();
    let addr = server.addr();
    let body = chat_body(server, "Hi", 1).to_string();
    // OpenAI routes
    let r = request(addr, "GET", "/v1/models", &[], b"");
    let e = assert_openai_error(&r, 401, "invalid_request_error");
    assert_eq!(e["error"]["code"], "invalid_api_key");
    let r = request(
        addr,
        "GET",
        "/v1/models",
        &[("Authorization", "Bearer nope")],
        b"",
    );
    assert_openai_error(&r, 401, "invalid_request_error");
    let r = request(addr, "POST", "/v1/chat/completions", &[], body.as_bytes());
    assert_openai_error(&r, 401, "invalid_request_error");
    // either header is accepted on any route
    let r = request(addr, "GET", "/v1/models", &[("x-api-key", KEY)], b"");
    assert_eq!(r.status, 200);
    // Anthropic route
    let body = anthropic_body(server, "Hi", 1).to_string();
    let r = request(addr, "POST", "/v1/messages", &[], body.as_bytes());
    assert_anthropic_error(&r, 401, "authentication_error");
    let r = request(
        addr,
        "POST",
        "/v1/messages",
        &[("x-api-key", "nope")],
        body.as_bytes(),
    );
    assert_anthropic_error(&r, 401, "authentication_error");
    let r = request(
        addr,
        "POST",
        "/v1/messages",
        &[("x-api-key", KEY)],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let auth = format!("Bearer {KEY}");
    let r = request(
        addr,
        "POST",
        "/v1/messages",
        &[("Authorization", &auth)],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn malformed_json_is_400_in_each_shape() {
    let (server, _g) = server();
    let addr = server.addr();
    let auth = format!("Bearer {KEY}");
    let h = [("Authorization", auth.as_str())];
    for path in ["/v1/chat/completions", "/v1/completions"] {
        let r = request(addr, "POST", path, &h, b"{\"model\": ");
        let e = assert_openai_error(&r, 400, "invalid_request_error");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not valid JSON")
        );
        // valid JSON, wrong shape
        let r = request(addr, "POST", path, &h, b"{\"model\": 3}");
        assert_openai_error(&r, 400, "invalid_request_error");
    }
    let r = request(addr, "POST", "/v1/messages", &h, b"not json");
    assert_anthropic_error(&r, 400, "invalid_request_error");
    // max_tokens is required by the Messages API
    let mut body = anthropic_body(server, "Hi", 1);
    body.as_object_mut().unwrap().remove("max_tokens");
    let r = post(addr, "/v1/messages", &body);
    let e = assert_anthropic_error(&r, 400, "invalid_request_error");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens")
    );
}

#[test]
fn a_port_in_use_is_refused_before_the_model_loads() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = locallm_serve::ServeConfig {
        port: taken.local_addr().unwrap().port(),
        // no model at all: had it been loaded first, this would be the error
        ..locallm_serve::ServeConfig::new("/no/such/model.gguf".into())
    };
    let err = format!("{:#}", locallm_serve::Server::start(config).err().unwrap());
    assert!(err.starts_with("cannot listen on 127.0.0.1:"), "{err}");
    assert!(!err.contains("model.gguf"), "{err}");
}

#[test]
fn an_unknown_role_is_400_naming_the_message() {
    let (server, _g) = server();
    let mut body = chat_body(server, "Hi", 1);
    body["messages"] = json!([
        {"role": "user", "content": "Hi"},
        {"role": "wizard", "content": "I am the system now"},
    ]);
    let r = post(server.addr(), "/v1/chat/completions", &body);
    let e = assert_openai_error(&r, 400, "invalid_request_error");
    assert_eq!(e["error"]["param"], "messages[1].role");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("'wizard'") && message.contains("'tool'"),
        "{message}"
    );
    // every role of the API is accepted (developer is read as system)
    for role in ["system", "developer", "user", "assistant"] {
        body["messages"] =
            json!([{"role": role, "content": "Hi"}, {"role": "user", "content": "Hi"}]);
        let r = post(server.addr(), "/v1/chat/completions", &body);
        assert_eq!(
            r.status,
            200,
            "{role}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
}

#[test]
fn unknown_model_is_404_in_each_shape() {
    let (server, _g) = server();
    let mut body = chat_body(server, "Hi", 1);
    body["model"] = json!("gpt-4o");
    let r = post(server.addr(), "/v1/chat/completions", &body);
    let e = assert_openai_error(&r, 404, "invalid_request_error");
    assert_eq!(e["error"]["code"], "model_not_found");
    assert_eq!(e["error"]["param"], "model");
    let mut body = anthropic_body(server, "Hi", 1);
    body["model"] = json!("claude-x");
    let r = post(server.addr(), "/v1/messages", &body);
    assert_anthropic_error(&r, 404, "not_found_error");
}

#[test]
fn context_overflow_is_400_stating_both_counts() {
    let (server, _g) = server();
    let s = shared();
    let long = "hello ".repeat(CTX + 50);
    let body = chat_body(server, &long, 4);
    // the prompt as the server builds it: chat template, then tokenizer
    let text = (s.tokenizer.chat_template().unwrap())
        .render(&[Message::user(&long)], true)
        .unwrap();
    let n = s.tokenizer.encode_prompt(&text).unwrap().len();
    assert!(n > CTX);
    assert_eq!(server.context(), CTX);
    let r = post(server.addr(), "/v1/chat/completions", &body);
    let e = assert_openai_error(&r, 400, "invalid_request_error");
    assert_eq!(e["error"]["code"], "context_length_exceeded");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("{n} tokens")), "{message}");
    assert!(message.contains(&format!("{CTX} tokens")), "{message}");

    let r = post(
        server.addr(),
        "/v1/messages",
        &anthropic_body(server, &long, 4),
    );
    let e = assert_anthropic_error(&r, 400, "invalid_request_error");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("{n} tokens")), "{message}");

    let prompt = "hello".repeat(CTX + 50);
    let n = s.tokenizer.encode_prompt(&prompt).unwrap().len();
    let body = json!({"model": server.model_id(), "prompt": prompt});
    let r = post(server.addr(), "/v1/completions", &body);
    let e = assert_openai_error(&r, 400, "invalid_request_error");
    assert_eq!(e["error"]["param"], "prompt");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{n} tokens"))
    );
}

#[test]
fn truncation_auto_drops_the_oldest_turns_and_says_how_many_tokens() {
    let (server, _g) = server();
    let s = shared();
    let template = s.tokenizer.chat_template().unwrap();
    let count = |messages: &[Message]| {
        let text = template.render(messages, true).unwrap();
        s.tokenizer.encode_prompt(&text).unwrap().len()
    };
    let long = "hello ".repeat(CTX);
    let all = [
        Message::system("Be brief."),
        Message::user(&long),
        Message::assistant("Hello!"),
        Message::user("What is two plus two?"),
    ];
    let kept = [all[0].clone(), all[2].clone(), all[3].clone()];
    let (full, fitted) = (count(&all), count(&kept));
    assert!(full > CTX && fitted < CTX);
    let messages: Vec<Value> = (all.iter())
        .map(|m| json!({"role": m.role, "content": m.content}))
        .collect();
    let mut body = json!({"model": server.model_id(), "messages": messages, "max_tokens": 1});
    // without opting in: the documented 400
    let r = post(server.addr(), "/v1/chat/completions", &body);
    assert_openai_error(&r, 400, "invalid_request_error");
    body["truncation"] = json!("auto");
    let r = post(server.addr(), "/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let usage = &r.json()["usage"];
    assert_eq!(usage["prompt_tokens"], fitted);
    assert_eq!(usage["truncated_prompt_tokens"], full - fitted);

    // Anthropic: the system message is a field of its own
    let body = json!({
        "model": server.model_id(), "max_tokens": 1, "system": "Be brief.",
        "messages": &messages[1..], "truncation": "auto",
    });
    let r = post(server.addr(), "/v1/messages", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let usage = &r.json()["usage"];
    assert_eq!(usage["truncated_input_tokens"], full - fitted);
    // the last turn alone too long: still a 400, truncation or not
    let body = json!({
        "model": server.model_id(), "max_tokens": 1,
        "messages": [{"role": "user", "content": long}], "truncation": "auto",
    });
    assert_anthropic_error(
        &post(server.addr(), "/v1/messages", &body),
        400,
        "invalid_request_error",
    );
}

#[test]
fn oversized_body_is_413_in_each_shape() {
    let (server, _g) = server();
    let big = "x".repeat(BODY_LIMIT + 1000);
    let r = post(
        server.addr(),
        "/v1/chat/completions",
        &chat_body(server, &big, 1),
    );
    let e = assert_openai_error(&r, 413, "invalid_request_error");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains(&BODY_LIMIT.to_string()), "{message}");
    let r = post(
        server.addr(),
        "/v1/messages",
        &anthropic_body(server, &big, 1),
    );
    assert_anthropic_error(&r, 413, "request_too_large");
}

#[test]
fn unsupported_requests_are_clear_errors() {
    let (server, _g) = server();
    let addr = server.addr();
    let mut body = chat_body(server, "Hi", 1);
    body["n"] = json!(2);
    let e = assert_openai_error(
        &post(addr, "/v1/chat/completions", &body),
        400,
        "invalid_request_error",
    );
    assert_eq!(e["error"]["param"], "n");

    let mut body = chat_body(server, "Hi", 1);
    body["messages"][0]["content"] = json!([{"type": "image_url", "image_url": {"url": "x"}}]);
    assert_openai_error(
        &post(addr, "/v1/chat/completions", &body),
        400,
        "invalid_request_error",
    );

    let mut body = chat_body(server, "Hi", 1);
    body["temperature"] = json!(-1);
    let e = assert_openai_error(
        &post(addr, "/v1/chat/completions", &body),
        400,
        "invalid_request_error",
    );
    assert_eq!(e["error"]["param"], "temperature");

    let body = json!({"model": server.model_id(), "input": [], "encoding_format": "float"});
    let e = assert_openai_error(
        &post(addr, "/v1/embeddings", &body),
        400,
        "invalid_request_error",
    );
    assert_eq!(e["error"]["param"], "input[0]");
    let body = json!({"model": server.model_id(), "input": "hello"});
    let e = assert_openai_error(
        &post(
            addr,
            "/v1/embeddings",
            &json!({"input": "hello", "model": server.model_id(),
            "encoding_format": "hex"}),
        ),
        400,
        "invalid_request_error",
    );
    assert_eq!(e["error"]["param"], "encoding_format");

    let e = assert_openai_error(
        &post(addr, "/v1/nothing", &body),
        404,
        "invalid_request_error",
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/nothing")
    );
}

#[test]
fn chat_stream_and_completion_agree_and_count_tokens() {
    let (server, _g) = exclusive();
    let s = shared();
    let addr = server.addr();
    let question = "What is the capital of France?";
    let body = chat_body(server, question, 8);
    // warm up: from now on every request with this prompt reuses the same
    // cached prefix and computes the same last position, so greedy answers
    // must be identical
    post(addr, "/v1/chat/completions", &body);

    let r = post(addr, "/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let reply = r.json();
    assert_eq!(reply["object"], "chat.completion");
    assert_eq!(reply["model"], server.model_id());
    assert!(reply["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let choice = &reply["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    let text = choice["message"]["content"].as_str().unwrap().to_string();
    assert!(!text.is_empty());

    // usage: the prompt is the chat template's rendering, tokenized
    let rendered = (s.tokenizer.chat_template().unwrap())
        .render(&[Message::user(question)], true)
        .unwrap();
    let prompt_ids = s.tokenizer.encode_prompt(&rendered).unwrap();
    let usage = &reply["usage"];
    assert_eq!(usage["prompt_tokens"], prompt_ids.len());
    assert_eq!(
        usage["prompt_tokens_details"]["cached_tokens"],
        prompt_ids.len() - 1
    );
    let completion = usage["completion_tokens"].as_u64().unwrap();
    assert_eq!(usage["total_tokens"], prompt_ids.len() as u64 + completion);
    // finish_reason agrees with the count
    match choice["finish_reason"].as_str().unwrap() {
        "length" => assert_eq!(completion, 8),
        "stop" => assert!(completion < 8),
        other => panic!("finish_reason {other}"),
    }

    // the same request, streamed: the same text in chunks
    let mut body_stream = body.clone();
    body_stream["stream"] = json!(true);
    body_stream["stream_options"] = json!({"include_usage": true});
    let sse = Sse::open(addr, "/v1/chat/completions", &body_stream);
    assert_eq!(sse.status, 200);
    let content_type = (sse.headers.iter())
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let events = sse.collect();
    assert_eq!(events.last().unwrap().data, "[DONE]");
    assert!(
        events.iter().all(|e| e.event.is_none()),
        "OpenAI events are unnamed"
    );
    let (streamed, chunks) = chat_stream_text(&events);
    assert_eq!(streamed, text);
    let id = &chunks[0]["id"];
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(&c["id"], id);
    }
    // first: the role; last but one: finish_reason; last: usage, no choices
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let n = chunks.len();
    let finish = &chunks[n - 2]["choices"][0];
    assert_eq!(finish["finish_reason"], choice["finish_reason"]);
    assert_eq!(finish["delta"], json!({}));
    for c in &chunks[..n - 2] {
        assert!(c["choices"][0]["finish_reason"].is_null());
        assert!(c["usage"].is_null());
    }
    assert_eq!(chunks[n - 1]["choices"], json!([]));
    assert_eq!(chunks[n - 1]["usage"], reply["usage"]);

    // without include_usage: no usage chunk
    body_stream
        .as_object_mut()
        .unwrap()
        .remove("stream_options");
    let events = Sse::open(addr, "/v1/chat/completions", &body_stream).collect();
    let (streamed, chunks) = chat_stream_text(&events);
    assert_eq!(streamed, text);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert!(!chunks.last().unwrap()["choices"][0]["finish_reason"].is_null());

    // /v1/completions on the rendered prompt: the same ids, the same answer
    let body = json!({
        "model": server.model_id(), "prompt": rendered, "max_tokens": 8, "temperature": 0,
    });
    let r = post(addr, "/v1/completions", &body).json();
    assert_eq!(r["object"], "text_completion");
    assert_eq!(r["choices"][0]["text"], text.as_str());
    assert_eq!(r["usage"]["prompt_tokens"], prompt_ids.len());
    // ... also as token ids, and streamed
    let body = json!({
        "model": server.model_id(), "prompt": prompt_ids, "max_tokens": 8, "temperature": 0,
        "stream": true,
    });
    let events = Sse::open(addr, "/v1/completions", &body).collect();
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let streamed: String = (events[..events.len() - 1].iter())
        .map(|e| serde_json::from_str::<Value>(&e.data).unwrap())
        .map(|c| c["choices"][0]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(streamed, text);
}

#[test]
fn stop_strings_end_the_answer_before_them() {
    let (server, _g) = exclusive();
    let addr = server.addr();
    let body = chat_body(server, "Count from one to ten in words.", 24);
    post(addr, "/v1/chat/completions", &body); // warm up (see above)
    let full = post(addr, "/v1/chat/completions", &body).json();
    let text = full["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    // stop at the second word of the answer
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(words.len() >= 3, "{text:?}");
    let stop = words[1];
    let expected = &text[..text.find(stop).unwrap()];

    let mut with_stop = body.clone();
    with_stop["stop"] = json!(stop);
    let r = post(addr, "/v1/chat/completions", &with_stop).json();
    assert_eq!(r["choices"][0]["message"]["content"], expected);
    assert_eq!(r["choices"][0]["finish_reason"], "stop");

    with_stop["stream"] = json!(true);
    with_stop["stop"] = json!(["never appears", stop]);
    let (streamed, chunks) =
        chat_stream_text(&Sse::open(addr, "/v1/chat/completions", &with_stop).collect());
    assert_eq!(streamed, expected);
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );

    // Anthropic: stop_reason stop_sequence, and which one
    let mut body = anthropic_body(server, "Count from one to ten in words.", 24);
    body["stop_sequences"] = json!(["never appears", stop]);
    let r = post(addr, "/v1/messages", &body).json();
    assert_eq!(r["content"][0]["text"], expected);
    assert_eq!(r["stop_reason"], "stop_sequence");
    assert_eq!(r["stop_sequence"], stop);
}

#[test]
fn anthropic_messages_and_event_sequence() {
    let (server, _g) = exclusive();
    let addr = server.addr();
    let mut body = anthropic_body(server, "Name a colour.", 6);
    body["system"] = json!([{"type": "text", "text": "You answer in one word."}]);
    body["messages"][0]["content"] = json!([{"type": "text", "text": "Name a colour."}]);
    post(addr, "/v1/messages", &body); // warm up (see above)
    let r = post(addr, "/v1/messages", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let msg = r.json();
    assert_eq!(msg["type"], "message");
    assert_eq!(msg["role"], "assistant");
    assert!(msg["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(msg["content"][0]["type"], "text");
    let text = msg["content"][0]["text"].as_str().unwrap();
    let usage = &msg["usage"];
    let output = usage["output_tokens"].as_u64().unwrap();
    match msg["stop_reason"].as_str().unwrap() {
        "max_tokens" => assert_eq!(output, 6),
        "end_turn" => assert!(output < 6),
        other => panic!("stop_reason {other}"),
    }
    // the repeated prompt came from the cache: all but its last token
    let cached = usage["cache_read_input_tokens"].as_u64().unwrap();
    assert_eq!(usage["input_tokens"], 1);
    assert!(cached > 10);

    body["stream"] = json!(true);
    let events = Sse::open(addr, "/v1/messages", &body).collect();
    let names: Vec<&str> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
    let deltas = names
        .iter()
        .filter(|n| **n == "content_block_delta")
        .count();
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(std::iter::repeat_n("content_block_delta", deltas));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);
    let data: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    for (e, d) in names.iter().zip(&data) {
        assert_eq!(d["type"], *e, "the data's type is the event's name");
    }
    assert_eq!(data[0]["message"]["content"], json!([]));
    assert_eq!(
        data[1]["content_block"],
        json!({"type": "text", "text": ""})
    );
    let streamed: String = (data.iter())
        .filter(|d| d["type"] == "content_block_delta")
        .map(|d| {
            assert_eq!(d["delta"]["type"], "text_delta");
            d["delta"]["text"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(streamed, text);
    let delta = &data[data.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], msg["stop_reason"]);
    assert_eq!(delta["usage"]["output_tokens"], output);
}

#[test]
fn a_shared_prefix_reuses_the_kv_cache() {
    let (server, _g) = exclusive();
    let addr = server.addr();
    let system = "You are a terse assistant. You answer every question in one short sentence.";
    let ask = |question: &str| {
        let body = json!({
            "model": server.model_id(), "max_tokens": 2, "temperature": 0,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": question}],
        });
        post(addr, "/v1/chat/completions", &body).json()["usage"].clone()
    };
    let s = shared();
    let template = s.tokenizer.chat_template().unwrap();
    let ids = |q: &str| {
        let text = template
            .render(&[Message::system(system), Message::user(q)], true)
            .unwrap();
        s.tokenizer.encode_prompt(&text).unwrap()
    };
    ask("Hi?");
    let usage = ask("Why is the sky blue?");
    // the cache held "system + Hi?"; the shared part is the system turn and
    // the user header, up to where the questions differ
    let (a, b) = (ids("Hi?"), ids("Why is the sky blue?"));
    let shared = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    assert!(shared > 10);
    assert_eq!(usage["prompt_tokens"], b.len());
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], shared);
}

#[test]
fn the_chat_page_is_served_without_a_key_and_uses_the_api() {
    let (server, _g) = server();
    let r = request(server.addr(), "GET", "/", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let page = r.text();
    assert!(page.contains("/v1/chat/completions"));
    assert!(page.contains("/v1/models"));
    assert!(page.contains("\"stream\": true") || page.contains("stream: true"));
    assert!(page.contains("[DONE]"));
}
