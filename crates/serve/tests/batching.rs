//! Continuous batching against the real model: requests that decode
//! together in one batch get, token for token, the greedy answer each gets
//! alone; they really did decode together (the mean batch of the steps is
//! above 2); a client that hangs up mid-batch is dropped from it without
//! disturbing the others.

mod common;

use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{Sse, SseEvent};
use serde_json::{Value, json};

/// Raw prompts with different first tokens: a slot that held one of them
/// shares no prefix with another, so each prompt is computed the same way
/// whichever slot it lands in.
const PROMPTS: [&str; 4] = [
    "Once upon a time, in a small village,",
    "The capital of France is",
    "def fibonacci(n):",
    "My favourite fruit is the",
];
const ANSWER: usize = 24;

fn completion(server: &locallm_serve::Server, prompt: &str, max_tokens: usize) -> Value {
    json!({
        "model": server.model_id(),
        "prompt": prompt,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": true,
    })
}

/// The text of a streamed completion.
fn text(events: &[SseEvent]) -> String {
    events
        .iter()
        .filter(|e| e.data != "[DONE]")
        .map(|e| serde_json::from_str::<Value>(&e.data).expect("chunk is JSON"))
        .filter_map(|c| c["choices"][0]["text"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn batched_answers_equal_lone_answers_and_a_hang_up_leaves_the_batch() {
    let server = common::start(16, 512, 1 << 20);
    let addr = server.addr();
    let counters = server.counters();
    let load = |c: &std::sync::atomic::AtomicUsize| c.load(SeqCst);

    // each prompt alone, one after the other
    let alone: Vec<String> = (PROMPTS.iter())
        .map(|p| {
            text(&Sse::open(addr, "/v1/completions", &completion(&server, p, ANSWER)).collect())
        })
        .collect();
    assert!(alone.iter().all(|t| !t.is_empty()), "{alone:?}");

    // the same four at once, and a fifth that leaves after two pieces
    let (tokens_before, steps_before) = (
        load(&counters.generated_tokens),
        load(&counters.decode_steps),
    );
    let barrier = Arc::new(Barrier::new(PROMPTS.len() + 1));
    let clients: Vec<_> = (PROMPTS.iter())
        .map(|p| {
            let (barrier, body) = (barrier.clone(), completion(&server, p, ANSWER));
            std::thread::spawn(move || {
                barrier.wait();
                text(&Sse::open(addr, "/v1/completions", &body).collect())
            })
        })
        .collect();
    let story = json!({
        "model": server.model_id(),
        "messages": [{"role": "user", "content": "Write a long story about a dragon who learns to cook."}],
        "max_tokens": 400,
        "temperature": 0,
        "stream": true,
    });
    let leaver = std::thread::spawn(move || {
        barrier.wait();
        let mut sse = Sse::open(addr, "/v1/chat/completions", &story);
        let mut pieces = 0;
        while pieces < 2 {
            let e = sse.next_event().expect("the stream goes on");
            let chunk: Value = serde_json::from_str(&e.data).unwrap();
            let content = chunk["choices"][0]["delta"]["content"].as_str();
            pieces += content.is_some_and(|c| !c.is_empty()) as usize;
        }
        // dropped: the connection closes mid-answer
    });
    let together: Vec<String> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    leaver.join().unwrap();
    assert_eq!(together, alone);

    // the hang-up is noticed within a few steps, long before its 400 tokens
    let deadline = Instant::now() + Duration::from_secs(60);
    while load(&counters.cancelled) == 0 {
        assert!(
            Instant::now() < deadline,
            "the hang-up was never noticed ({} finished)",
            load(&counters.finished)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(load(&counters.running), 0);
    let tokens = load(&counters.generated_tokens) - tokens_before;
    let steps = load(&counters.decode_steps) - steps_before;
    assert!(tokens < PROMPTS.len() * ANSWER + 400, "{tokens} tokens");
    // four answers of 24 tokens one after the other would be ~96 steps of 1
    let mean_batch = tokens as f64 / steps as f64;
    assert!(
        mean_batch > 2.0,
        "{tokens} tokens in {steps} steps: no batching"
    );
    eprintln!("{tokens} tokens in {steps} steps: mean batch {mean_batch:.2}");
}
