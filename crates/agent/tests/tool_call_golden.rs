//! Our Hermes `<tool_call>` parser against llama.cpp's server.
//!
//! `scripts/golden_tool_calls.py` runs the parser llama-server `--jinja`
//! derives from the Hermes-2-Pro tool-use template over a set of assistant
//! texts (well-formed calls, several calls, nested arguments, malformed
//! blocks) and stores what it makes of each in
//! `tests/golden/tool_calls/hermes.json`: the content and the calls, or an
//! error (the server then fails the request).
//!
//! Where both parse, the calls must be the same (names, and arguments as
//! JSON values) and so must the prose (up to surrounding whitespace, which
//! we trim). Where they differ, the case is listed in [`differences`] with
//! what we do and why; every other case must agree.

use std::path::PathBuf;

use locallm_agent::hermes::{Call, Tool, parse_calls};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Golden {
    tools: Vec<Tool>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    text: String,
    llama_cpp: Parsed,
}

/// llama.cpp's result: an error, or the message's content and calls.
#[derive(Deserialize)]
#[serde(untagged)]
enum Parsed {
    Error {
        error: String,
    },
    Message {
        content: String,
        tool_calls: Vec<Call>,
    },
}

fn golden() -> Golden {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/tool_calls/hermes.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What we make of a case where llama.cpp differs, and why.
enum Ours {
    /// llama.cpp rejects the text and fails the request; we keep the whole
    /// answer as prose with no call (a call is returned only when it is
    /// certainly one, and the user still sees what the model wrote).
    ProseWhereLlamaCppFails,
    /// We return these calls (and this prose) where llama.cpp does not.
    Calls(&'static str, Value),
    /// We return the whole text as prose where llama.cpp finds calls.
    ProseOnly,
}

fn differences(name: &str) -> Option<(Ours, &'static str)> {
    use Ours::*;
    let paris = json!([{"name": "get_weather", "arguments": {"city": "Paris"}}]);
    Some(match name {
        "unclosed JSON" | "bad JSON" | "missing name" | "unknown tool" | "empty block" => (
            ProseWhereLlamaCppFails,
            "nothing in the block is a call; llama.cpp errors, we answer with prose",
        ),
        "compact call" => (
            Calls(
                "",
                json!([{"name": "get_weather", "arguments": {"city": "Rome"}}]),
            ),
            "llama.cpp's parser, derived from the template, wants the newline after \
             <tool_call> the template writes, and takes the block as content; we accept any \
             whitespace, as small models do not always write the newline",
        ),
        "arguments before name" => (
            Calls(
                "",
                json!([{"name": "get_weather", "arguments": {"city": "Lima"}}]),
            ),
            "llama.cpp expects the keys in the template's order (name first) and errors; \
             we read the object, whose keys have no order in JSON",
        ),
        "missing arguments" => (
            Calls("", json!([{"name": "get_weather", "arguments": {}}])),
            "llama.cpp errors; we take a call without arguments as a call with none",
        ),
        "prose after a call" => (
            Calls("", paris),
            "llama.cpp wants the calls to end the answer and errors; we return the call \
             and drop the prose after it",
        ),
        "prose between calls" => (
            Calls(
                "",
                json!([{"name": "get_weather", "arguments": {"city": "Paris"}},
                       {"name": "get_weather", "arguments": {"city": "Oslo"}}]),
            ),
            "llama.cpp errors; we return both calls and drop the prose between them",
        ),
        "arguments not an object" => (
            ProseOnly,
            "llama.cpp returns the call with arguments {} (the string is dropped); we do not \
             guess: arguments must be an object, so the answer stays prose",
        ),
        _ => return None,
    })
}

fn calls(v: Value) -> Vec<Call> {
    serde_json::from_value(v).unwrap()
}

#[test]
fn we_parse_tool_calls_as_llama_cpp_does() {
    let g = golden();
    let mut same = 0;
    for case in &g.cases {
        let (prose, ours) = parse_calls(&case.text, &g.tools);
        match (differences(&case.name), &case.llama_cpp) {
            (
                None,
                Parsed::Message {
                    content,
                    tool_calls,
                },
            ) => {
                assert_eq!(&ours, tool_calls, "{}", case.name);
                assert_eq!(prose, content.trim(), "{}", case.name);
                same += 1;
            }
            (None, Parsed::Error { error }) => {
                panic!(
                    "{}: llama.cpp fails ({error}), we do not say how we differ",
                    case.name
                )
            }
            (Some((Ours::ProseWhereLlamaCppFails, why)), llama_cpp) => {
                assert!(matches!(llama_cpp, Parsed::Error { .. }), "{}", case.name);
                assert_eq!(
                    (prose, ours),
                    (case.text.clone(), vec![]),
                    "{}: {why}",
                    case.name
                );
            }
            (Some((Ours::Calls(expected_prose, expected), why)), llama_cpp) => {
                let expected = calls(expected);
                assert_eq!(
                    (prose.as_str(), &ours),
                    (expected_prose, &expected),
                    "{}: {why}",
                    case.name
                );
                let llama_cpp_agrees = matches!(llama_cpp,
                    Parsed::Message { tool_calls, .. } if *tool_calls == expected);
                assert!(!llama_cpp_agrees, "{}: no longer a difference", case.name);
            }
            (Some((Ours::ProseOnly, why)), llama_cpp) => {
                assert_eq!(
                    (prose, ours),
                    (case.text.clone(), vec![]),
                    "{}: {why}",
                    case.name
                );
                let Parsed::Message { tool_calls, .. } = llama_cpp else {
                    panic!("{}: llama.cpp errors", case.name)
                };
                assert!(
                    !tool_calls.is_empty(),
                    "{}: no longer a difference",
                    case.name
                );
            }
        }
    }
    // prose only, one call, prose then a call, two calls, nested arguments,
    // empty arguments, unclosed tag, a closing tag inside a JSON string
    assert_eq!(same, 8, "cases where both agree");
}
