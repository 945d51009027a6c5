//! The checks on one assistant turn: does it make a call, and is that call
//! one the tools can run ([`check_call`])? Does it do what was expected
//! ([`same_call`], for scoring)?

use serde_json::{Value, json};

use crate::hermes::{CALL_OPEN, Call, Tool, call_body};
use crate::validate::{ValidationError, validate};

/// Why a turn's call cannot be run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("the call is not valid JSON: {0}")]
    Syntax(String),
    #[error("the call must be an object with a string \"name\" and an object \"arguments\"")]
    Shape,
    #[error("there is no tool named `{0}`")]
    UnknownTool(String),
    #[error("invalid arguments for `{tool}`: {error}")]
    Invalid {
        tool: String,
        error: ValidationError,
    },
}

// ANCHOR: check_call
/// The first call in an assistant turn: `Ok(None)` if it makes none,
/// `Ok(Some(call))` if it parses, names a tool and its arguments validate.
pub fn check_call(text: &str, tools: &[Tool]) -> Result<Option<Call>, CallError> {
    let Some(start) = text.find(CALL_OPEN) else {
        return Ok(None);
    };
    let (json, _) = call_body(&text[start..]);
    let v: Value =
        serde_json::from_str(json.trim()).map_err(|e| CallError::Syntax(e.to_string()))?;
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .ok_or(CallError::Shape)?;
    let arguments = v.get("arguments").cloned().unwrap_or(json!({}));
    let tool = tools
        .iter()
        .find(|t| t.name() == name)
        .ok_or_else(|| CallError::UnknownTool(name.to_string()))?;
    validate(&tool.parameters(), &arguments).map_err(|error| CallError::Invalid {
        tool: name.to_string(),
        error,
    })?;
    Ok(Some(Call {
        name: name.to_string(),
        arguments,
    }))
}
// ANCHOR_END: check_call

/// Would the call `got` do what `expected` asks? Same tool, and every
/// expected argument present with the same value: strings compared without
/// case or surrounding space, numbers within a relative 1e-6 (so `2` and
/// `2.0` agree). Arguments the expectation leaves out may be anything.
pub fn same_call(expected: &Call, got: &Call) -> bool {
    expected.name == got.name
        && match (expected.arguments.as_object(), got.arguments.as_object()) {
            (Some(want), Some(have)) => want
                .iter()
                .all(|(k, w)| have.get(k).is_some_and(|h| same_value(w, h))),
            _ => expected.arguments == got.arguments,
        }
}

fn same_value(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Number(w), Value::Number(h)) => {
            let (w, h) = (
                w.as_f64().unwrap_or(f64::NAN),
                h.as_f64().unwrap_or(f64::NAN),
            );
            (w - h).abs() <= 1e-6 * w.abs().max(1.0)
        }
        (Value::String(w), Value::String(h)) => w.trim().eq_ignore_ascii_case(h.trim()),
        _ => want == have,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example_tools::example_tool_definitions;
    use crate::hermes::render_calls;

    #[test]
    fn check_call_says_what_is_wrong() {
        let tools = &example_tool_definitions();
        assert_eq!(check_call("Sunny.", tools), Ok(None));
        assert!(matches!(
            check_call("<tool_call>{\"name\": \"calculator\", </tool_call>", tools),
            Err(CallError::Syntax(_))
        ));
        assert_eq!(
            check_call("<tool_call>[1]</tool_call>", tools),
            Err(CallError::Shape)
        );
        let pow = json!({"operation": "pow", "a": 2, "b": 3});
        let e = check_call(
            &render_calls("", &[("calculator".into(), pow.to_string())]),
            tools,
        );
        assert!(matches!(e, Err(CallError::Invalid { .. })), "{e:?}");
    }

    #[test]
    fn calls_compare_by_value() {
        let want = Call {
            name: "convert_units".into(),
            arguments: json!({"value": 5, "from_unit": "miles", "to_unit": "kilometers"}),
        };
        let mut got = want.clone();
        got.arguments = json!({"value": 5.0, "from_unit": "Miles", "to_unit": "kilometers"});
        assert!(same_call(&want, &got));
        got.arguments["value"] = json!(5.1);
        assert!(!same_call(&want, &got));
        got.name = "calculator".into();
        assert!(!same_call(&want, &got));
    }
}
