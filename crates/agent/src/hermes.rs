//! Tool calls as text: the Hermes convention SmolLM2's ChatML was trained on.
//!
//! A model does not "call" anything: it writes text, and a convention says
//! which text is a call. SmolLM2, like most small open chat models, follows
//! the Hermes convention: the tools are listed as JSON (OpenAI's function
//! format) inside `<tools></tools>` in the system prompt, a call is a JSON
//! object `{"name": .., "arguments": {..}}` between `<tool_call>` and
//! `</tool_call>`, and a result comes back inside `<tool_response>`.
//!
//! This module writes the first and reads the second. The agent loop
//! ([`crate::Agent`]) and the server's OpenAI/Anthropic endpoints both use
//! it, so there is one way to do each.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use locallm_infer::JsonGrammar;

/// `{"type": "function", "function": {"name", "description", "parameters"}}`
/// — OpenAI's wire format, which is also what Hermes prompts list.
#[derive(Debug, Deserialize, Serialize, Clone, PartialEq)]
pub struct Tool {
    #[serde(rename = "type")]
    pub kind: String,
    pub function: Function,
}

#[derive(Debug, Deserialize, Serialize, Clone, PartialEq)]
pub struct Function {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The arguments' JSON Schema.
    #[serde(default)]
    pub parameters: Option<Value>,
}

impl Tool {
    /// A function tool.
    pub fn function(name: &str, description: &str, parameters: Value) -> Self {
        Tool {
            kind: "function".into(),
            function: Function {
                name: name.into(),
                description: Some(description.into()),
                parameters: Some(parameters),
            },
        }
    }

    pub fn name(&self) -> &str {
        &self.function.name
    }

    /// The arguments' schema (`{"type": "object"}` when none is given).
    pub fn parameters(&self) -> Value {
        self.function
            .parameters
            .clone()
            .unwrap_or(json!({"type": "object"}))
    }
}

pub const CALL_OPEN: &str = "<tool_call>";
pub const CALL_CLOSE: &str = "</tool_call>";

// ANCHOR: system_prompt
/// The system-prompt block that tells a Hermes-style model its tools.
pub fn system_prompt(tools: &[Tool]) -> String {
    let mut s = String::from(
        "You are a function calling AI model. You are provided with function signatures \
         within <tools></tools> XML tags. You may call one or more functions to assist with \
         the user query. Don't make assumptions about what values to plug into functions. \
         Here are the available tools: <tools>\n",
    );
    for t in tools {
        let f = &t.function;
        let description = json!({"type": "function", "function": {
            "name": f.name, "description": f.description, "parameters": f.parameters}});
        s.push_str(&description.to_string());
        s.push('\n');
    }
    s.push_str(
        "</tools>\nFor each function call return a json object with function name and \
         arguments within <tool_call></tool_call> XML tags as follows:\n<tool_call>\n\
         {\"name\": <function-name>, \"arguments\": <args-dict>}\n</tool_call>",
    );
    s
}
// ANCHOR_END: system_prompt

// ANCHOR: call_grammar
/// The JSON of a call to one of `candidates`: `{"name": <one of them>,
/// "arguments": <its parameters>}`. With one candidate the arguments follow
/// its schema; with several (or a schema using keywords the grammar does not
/// support) they are any JSON object — the agent, which needs the schema
/// enforced for every tool, picks the name first instead (see
/// [`crate::CallConstraint`]).
pub fn call_grammar(candidates: &[Tool]) -> JsonGrammar {
    let names: Vec<&str> = candidates
        .iter()
        .map(|t| t.function.name.as_str())
        .collect();
    let any_object = json!({"type": "object"});
    let arguments = match candidates {
        [one] => one.parameters(),
        _ => any_object.clone(),
    };
    let schema = |arguments: Value| {
        json!({
            "type": "object",
            "properties": {"name": {"enum": names}, "arguments": arguments},
            "required": ["name", "arguments"],
        })
    };
    JsonGrammar::from_schema(&schema(arguments))
        .or_else(|_| JsonGrammar::from_schema(&schema(any_object)))
        .unwrap_or_else(|_| JsonGrammar::any_object())
}
// ANCHOR_END: call_grammar

/// One parsed call: the tool's name and its arguments (a JSON object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub name: String,
    pub arguments: Value,
}

// ANCHOR: parse_calls
/// Splits an answer into its prose and its tool calls. A block that does
/// not parse, or names a tool the request did not offer, leaves the whole
/// answer as prose: a call is returned only when it is certainly one.
pub fn parse_calls(text: &str, tools: &[Tool]) -> (String, Vec<Call>) {
    let Some(first) = text.find(CALL_OPEN) else {
        return (text.to_string(), Vec::new());
    };
    let mut calls = Vec::new();
    let mut rest = &text[first..];
    while let Some(start) = rest.find(CALL_OPEN) {
        let (json, after) = call_body(&rest[start..]);
        let call = serde_json::from_str::<Value>(json.trim())
            .ok()
            .and_then(|v| {
                let name = v.get("name")?.as_str()?.to_string();
                let arguments = v.get("arguments").cloned().unwrap_or(json!({}));
                let known = tools.iter().any(|t| t.function.name == name);
                (known && arguments.is_object()).then_some(Call { name, arguments })
            });
        match call {
            Some(call) => calls.push(call),
            None => return (text.to_string(), Vec::new()),
        }
        rest = after;
    }
    (text[..first].trim().to_string(), calls)
}
// ANCHOR_END: parse_calls

/// `text` starts with `<tool_call>`: the JSON inside the block, and what
/// follows the block. The body is one JSON value read as JSON, so a
/// `</tool_call>` inside one of its strings does not end the block (as in
/// llama.cpp's parser); where the body is not JSON, the block ends at the
/// first closing tag. No closing tag (the answer was cut after the JSON)
/// still counts: the body runs to the end.
pub fn call_body(text: &str) -> (&str, &str) {
    let body = text.strip_prefix(CALL_OPEN).unwrap_or(text);
    let mut values = serde_json::Deserializer::from_str(body).into_iter::<Value>();
    if let Some(Ok(_)) = values.next() {
        let end = values.byte_offset();
        let after = body[end..].trim_start();
        if let Some(after) = after.strip_prefix(CALL_CLOSE) {
            return (&body[..end], after);
        }
        if after.is_empty() {
            return (&body[..end], "");
        }
    }
    match body.find(CALL_CLOSE) {
        Some(end) => (&body[..end], &body[end + CALL_CLOSE.len()..]),
        None => (body, ""),
    }
}

/// How an assistant turn with tool calls is written back into the prompt
/// (the model's own format, so it sees what it wrote). `calls` are
/// (name, arguments as JSON text).
pub fn render_calls(content: &str, calls: &[(String, String)]) -> String {
    let mut s = content.to_string();
    for (name, arguments) in calls {
        let arguments: Value = serde_json::from_str(arguments).unwrap_or(json!({}));
        if !s.is_empty() {
            s.push('\n');
        }
        let call = json!({"name": name, "arguments": arguments});
        s.push_str(&format!("{CALL_OPEN}\n{call}\n{CALL_CLOSE}"));
    }
    s
}

/// A tool's result as the model expects to read it.
pub fn render_result(content: &str) -> String {
    format!("<tool_response>\n{content}\n</tool_response>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use locallm_infer::json_grammar::accepts;

    fn tools() -> Vec<Tool> {
        let t = json!([{"type": "function", "function": {"name": "get_weather"}}]);
        serde_json::from_value(t).unwrap()
    }

    #[test]
    fn calls_are_parsed_only_when_certain() {
        let t = tools();
        let (prose, calls) = parse_calls(
            "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
            &t,
        );
        assert_eq!(prose, "Let me check.");
        assert_eq!(
            calls,
            vec![Call {
                name: "get_weather".into(),
                arguments: json!({"city": "Paris"})
            }]
        );
        // an unknown tool, broken JSON, non-object arguments: prose, no call
        for text in [
            "<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>",
            "<tool_call>{\"name\": \"get_weather\", \"arguments\": {</tool_call>",
            "<tool_call>{\"name\": \"get_weather\", \"arguments\": 3}</tool_call>",
        ] {
            assert_eq!(
                parse_calls(text, &t),
                (text.to_string(), Vec::new()),
                "{text}"
            );
        }
        // no closing tag (the answer was cut after the JSON) still counts
        let (_, calls) = parse_calls(
            "<tool_call>{\"name\": \"get_weather\", \"arguments\": {}}",
            &t,
        );
        assert_eq!(calls.len(), 1);
    }

    #[test]
    fn forced_calls_follow_the_tool_schema() {
        let t: Vec<Tool> = serde_json::from_value(json!([{"type": "function", "function": {
            "name": "f", "parameters": {"type": "object",
                "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}]))
        .unwrap();
        let g = call_grammar(&t);
        assert!(accepts(&g, br#"{"name": "f", "arguments": {"n": 3}}"#));
        assert!(!accepts(&g, br#"{"name": "g", "arguments": {"n": 3}}"#));
        assert!(!accepts(&g, br#"{"name": "f", "arguments": {"n": "3"}}"#));
    }

    #[test]
    fn rendered_calls_parse_back() {
        let text = render_calls("", &[("get_weather".into(), r#"{"city":"Oslo"}"#.into())]);
        let (_, calls) = parse_calls(&text, &tools());
        assert_eq!(calls[0].arguments, json!({"city": "Oslo"}));
    }
}
