//! Every other request field: honoured or refused, never dropped.
//!
//! The request types read the fields that change the answer (the prompt,
//! the sampling settings, `logprobs`, structured output, tools). The OpenAI
//! SDK can send more, and a field a server silently ignores is a bug the
//! caller cannot see. So every other field a request carries is looked up
//! here:
//!
//! - **honoured**: accepted with the values whose promise already holds on
//!   this server (`store: false`: nothing is stored; `service_tier: "auto"`:
//!   there is one tier), refused with any other value;
//! - **refused**: a 400 that names the field and says why;
//! - not listed: a 400, as OpenAI answers an unrecognised argument.
//!
//! A `null` value means "not given" and is always accepted.
//! `crates/serve/tests/sdk/openai_fields.py` walks the fields of the
//! installed SDK's request types and checks each one's behaviour, so a field
//! a new SDK adds fails that test until it is decided here.

use serde_json::{Map, Value};

use super::common::FLAVOR;
use crate::error::{ApiError, Kind};

/// What the server does with one field.
pub enum Rule {
    /// Accepted when `accepts(value)`; `because` says why nothing more is
    /// needed for it (and, in the 400 for other values, what holds here).
    Honoured {
        accepts: fn(&Value) -> bool,
        because: &'static str,
    },
    /// Always a 400, saying why.
    Refused(&'static str),
}

fn is_string(v: &Value) -> bool {
    v.is_string()
}
fn is_false(v: &Value) -> bool {
    *v == Value::Bool(false)
}
fn is_true(v: &Value) -> bool {
    *v == Value::Bool(true)
}
fn is_one(v: &Value) -> bool {
    v.as_u64() == Some(1)
}
fn is_empty_string(v: &Value) -> bool {
    v.as_str() == Some("")
}
fn is_in_memory(v: &Value) -> bool {
    v.as_str() == Some("in_memory")
}
fn is_default_tier(v: &Value) -> bool {
    matches!(v.as_str(), Some("auto" | "default"))
}
fn is_text_only(v: &Value) -> bool {
    *v == serde_json::json!(["text"])
}

const USER: Rule = Rule::Honoured {
    accepts: is_string,
    because: "an end-user id does not change the answer, and this server keeps no per-user records",
};

// ANCHOR: chat_fields
/// `/v1/chat/completions`: the fields `ChatRequest` does not read.
pub const CHAT: &[(&str, Rule)] = &[
    ("user", USER),
    ("safety_identifier", USER),
    (
        "prompt_cache_key",
        Rule::Honoured {
            accepts: is_string,
            because: "the one KV cache reuses any shared prompt prefix by itself",
        },
    ),
    (
        "prompt_cache_retention",
        Rule::Honoured {
            accepts: is_in_memory,
            because: "the KV cache lives in memory only (`in_memory`)",
        },
    ),
    (
        "prompt_cache_options",
        Rule::Refused(
            "cache breakpoints are not supported; the KV cache reuses the longest shared prefix by itself",
        ),
    ),
    (
        "store",
        Rule::Honoured {
            accepts: is_false,
            because: "this server stores no completions (`store: false`)",
        },
    ),
    (
        "metadata",
        Rule::Refused("`metadata` tags stored completions, and this server stores none"),
    ),
    (
        "service_tier",
        Rule::Honoured {
            accepts: is_default_tier,
            because: "there is one service tier (`auto` or `default`)",
        },
    ),
    (
        "parallel_tool_calls",
        Rule::Honoured {
            accepts: is_true,
            because: "the model may call several tools in one turn; `false` cannot be enforced",
        },
    ),
    (
        "modalities",
        Rule::Honoured {
            accepts: is_text_only,
            because: "the model answers in text only (`[\"text\"]`)",
        },
    ),
    ("audio", Rule::Refused("audio output is not supported")),
    (
        "functions",
        Rule::Refused("the deprecated `functions` are not supported; use `tools`"),
    ),
    (
        "function_call",
        Rule::Refused("the deprecated `function_call` is not supported; use `tool_choice`"),
    ),
    (
        "prediction",
        Rule::Refused("predicted outputs are not supported"),
    ),
    (
        "reasoning_effort",
        Rule::Refused("this model does not reason before answering"),
    ),
    (
        "verbosity",
        Rule::Refused(
            "`verbosity` is not supported; ask for the length in the prompt or use `max_completion_tokens`",
        ),
    ),
    (
        "web_search_options",
        Rule::Refused("web search is not supported"),
    ),
    ("moderation", Rule::Refused("moderation is not supported")),
];
// ANCHOR_END: chat_fields

/// `/v1/completions`: the fields `CompletionRequest` does not read.
pub const COMPLETIONS: &[(&str, Rule)] = &[
    ("user", USER),
    (
        "best_of",
        Rule::Honoured {
            accepts: is_one,
            because: "one candidate is generated per request (`best_of: 1`)",
        },
    ),
    (
        "echo",
        Rule::Honoured {
            accepts: is_false,
            because: "the prompt is not echoed (`echo: false`)",
        },
    ),
    (
        "suffix",
        Rule::Honoured {
            accepts: is_empty_string,
            because: "text after the insertion point is not supported (only an empty `suffix`)",
        },
    ),
];

/// Checks the fields a request type left over against `table`.
pub fn check(rest: &Map<String, Value>, table: &[(&str, Rule)]) -> Result<(), ApiError> {
    let bad = |message: String, field: &str| {
        Err(ApiError::new(FLAVOR, Kind::BadRequest, message).param(field))
    };
    for (field, value) in rest {
        if value.is_null() {
            continue;
        }
        match table.iter().find(|(name, _)| name == field) {
            None => {
                return bad(
                    format!("Unrecognized request argument supplied: {field}"),
                    field,
                );
            }
            Some((_, Rule::Refused(why))) => {
                return bad(format!("`{field}` is not supported: {why}"), field);
            }
            Some((_, Rule::Honoured { accepts, because })) if !accepts(value) => {
                return bad(
                    format!("`{field}`: {value} is not supported: {because}"),
                    field,
                );
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn verdict(table: &[(&str, Rule)], body: Value) -> Result<(), String> {
        let rest = body.as_object().unwrap().clone();
        check(&rest, table).map_err(|e| e.param.unwrap())
    }

    #[test]
    fn honoured_values_pass_others_are_400_naming_the_field() {
        assert_eq!(verdict(CHAT, json!({"store": false, "user": "u1"})), Ok(()));
        assert_eq!(verdict(CHAT, json!({"store": true})), Err("store".into()));
        assert_eq!(
            verdict(CHAT, json!({"service_tier": "flex"})),
            Err("service_tier".into())
        );
        assert_eq!(
            verdict(CHAT, json!({"audio": {"voice": "x"}})),
            Err("audio".into())
        );
        assert_eq!(verdict(CHAT, json!({"best_of": 1})), Err("best_of".into()));
        assert_eq!(
            verdict(COMPLETIONS, json!({"best_of": 1, "echo": false})),
            Ok(())
        );
        assert_eq!(
            verdict(COMPLETIONS, json!({"echo": true})),
            Err("echo".into())
        );
        // null is "not given", even for a refused or unknown field
        assert_eq!(
            verdict(CHAT, json!({"functions": null, "nope": null})),
            Ok(())
        );
        assert_eq!(verdict(CHAT, json!({"nope": 1})), Err("nope".into()));
    }
}
