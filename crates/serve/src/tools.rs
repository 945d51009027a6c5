//! Tool calls on the wire: OpenAI's `tools`/`tool_choice` in, `tool_calls`
//! out, mapped to the format the model was trained on.
//!
//! A model does not "call" anything: it writes text, and a convention says
//! which text is a call. SmolLM2's ChatML, like most small open models,
//! follows the Hermes convention: the tools are listed as JSON inside
//! `<tools></tools>` in the system prompt, and a call is a JSON object
//! `{"name": .., "arguments": {..}}` between `<tool_call>` and
//! `</tool_call>`. The server writes the first and parses the second, so the
//! client sees OpenAI's structured `tool_calls`.
//!
//! `tool_choice: "auto"` lets the model decide (and a small model often
//! answers in prose instead, or writes a call that does not parse: then the
//! text comes back as content, never a made-up call). `"required"` or a named
//! function *forces* a call: the prompt already ends with `<tool_call>\n`
//! and the JSON after it is constrained by a grammar (see
//! `locallm_infer::constrained`), so the call always parses — chapter 25
//! measures how much that matters.

use std::sync::Arc;

use locallm_infer::JsonGrammar;
use locallm_tokenizer::Message;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, Flavor, Kind};

/// `{"type": "function", "function": {"name", "description", "parameters"}}`.
#[derive(Deserialize, Clone)]
pub struct Tool {
    #[serde(rename = "type")]
    pub kind: String,
    pub function: Function,
}

#[derive(Deserialize, Clone)]
pub struct Function {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<Value>,
}

/// `"none" | "auto" | "required" | {"type": "function", "function": {"name"}}`.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub enum ToolChoice {
    Mode(String),
    Named { function: Named },
}

#[derive(Deserialize, Clone)]
pub struct Named {
    pub name: String,
}

/// What to do with the tools of one request.
pub enum Plan {
    /// No tools (none given, or `tool_choice: "none"`).
    None,
    /// Tools in the prompt; the model may call one.
    Auto(Vec<Tool>),
    /// A call is forced: the prompt ends inside `<tool_call>`, the answer
    /// follows `grammar`.
    Forced {
        tools: Vec<Tool>,
        grammar: Arc<JsonGrammar>,
    },
}

pub const CALL_OPEN: &str = "<tool_call>";
pub const CALL_CLOSE: &str = "</tool_call>";

impl Plan {
    pub fn new(
        flavor: Flavor,
        tools: Option<Vec<Tool>>,
        choice: Option<ToolChoice>,
    ) -> Result<Plan, ApiError> {
        let bad = |message: String, param: &str| {
            ApiError::new(flavor, Kind::BadRequest, message).param(param)
        };
        let tools = tools.unwrap_or_default();
        for (i, t) in tools.iter().enumerate() {
            if t.kind != "function" {
                let message = format!("tools of type `{}` are not supported", t.kind);
                return Err(bad(message, &format!("tools[{i}].type")));
            }
        }
        let forced = match (&choice, tools.is_empty()) {
            (Some(ToolChoice::Mode(m)), _) if m == "none" => return Ok(Plan::None),
            (None, true) => return Ok(Plan::None),
            (Some(_), true) => {
                return Err(bad("`tool_choice` needs `tools`".into(), "tool_choice"));
            }
            (None, false) => None,
            (Some(ToolChoice::Mode(m)), false) => match m.as_str() {
                "auto" => None,
                "required" => Some(tools.clone()),
                other => {
                    let message = format!("unknown tool_choice `{other}`");
                    return Err(bad(message, "tool_choice"));
                }
            },
            (Some(ToolChoice::Named { function }), false) => {
                let named: Vec<Tool> = tools
                    .iter()
                    .filter(|t| t.function.name == function.name)
                    .cloned()
                    .collect();
                if named.is_empty() {
                    let message = format!("no tool is named `{}`", function.name);
                    return Err(bad(message, "tool_choice"));
                }
                Some(named)
            }
        };
        Ok(match forced {
            None => Plan::Auto(tools),
            Some(candidates) => Plan::Forced {
                grammar: Arc::new(call_grammar(&candidates)),
                tools,
            },
        })
    }

    pub fn tools(&self) -> &[Tool] {
        match self {
            Plan::None => &[],
            Plan::Auto(tools) | Plan::Forced { tools, .. } => tools,
        }
    }

    /// Puts the tools into the system prompt, after the client's own.
    pub fn add_to_system(&self, messages: &mut Vec<Message>) {
        if self.tools().is_empty() {
            return;
        }
        let block = system_prompt(self.tools());
        match messages.first_mut() {
            Some(m) if m.role == "system" => m.content = format!("{}\n\n{block}", m.content),
            _ => messages.insert(0, Message::new("system", block)),
        }
    }

    /// A forced call: the text the prompt ends with (the answer starts
    /// inside the tag) and the grammar of the JSON that follows.
    pub fn forced(&self) -> Option<(String, Arc<JsonGrammar>)> {
        match self {
            Plan::Forced { grammar, .. } => Some((format!("{CALL_OPEN}\n"), grammar.clone())),
            _ => None,
        }
    }

    /// The answer's prose and tool calls.
    pub fn split(&self, text: &str) -> (String, Vec<Call>) {
        match self {
            Plan::None => (text.to_string(), Vec::new()),
            // the prompt opened the tag: the answer is what follows it
            Plan::Forced { tools, .. } => parse_calls(&format!("{CALL_OPEN}{text}"), tools),
            Plan::Auto(tools) => parse_calls(text, tools),
        }
    }
}

/// A streamed answer with tools: prose goes out as it comes, but text that
/// may be a call is held back until the end tells whether it is one.
pub struct CallStream {
    all: String,
    sent: usize,
    in_call: bool,
}

impl CallStream {
    pub fn new(plan: &Plan) -> Self {
        CallStream {
            all: String::new(),
            sent: 0,
            in_call: matches!(plan, Plan::Forced { .. }),
        }
    }

    /// Takes the next piece; returns the prose that is safe to show now.
    pub fn push(&mut self, piece: &str) -> String {
        self.all.push_str(piece);
        if self.in_call {
            return String::new();
        }
        let upto = match call_start(&self.all[self.sent..]) {
            Ok(i) => {
                self.in_call = true;
                i
            }
            Err(safe) => safe,
        };
        let prose = self.all[self.sent..self.sent + upto].to_string();
        self.sent += upto;
        prose
    }

    /// At the end: the calls, or (if there are none) the held-back prose.
    pub fn finish(&self, plan: &Plan) -> (String, Vec<Call>) {
        let (_, calls) = plan.split(&self.all);
        match calls.is_empty() {
            true => (self.all[self.sent..].to_string(), calls),
            false => (String::new(), calls),
        }
    }
}

// ANCHOR: call_grammar
/// The JSON of a call to one of `candidates`: `{"name": <one of them>,
/// "arguments": <its parameters>}`. With one candidate the arguments follow
/// its schema; with several (or a schema using keywords the grammar does not
/// support) they are any JSON object.
fn call_grammar(candidates: &[Tool]) -> JsonGrammar {
    let names: Vec<&str> = candidates
        .iter()
        .map(|t| t.function.name.as_str())
        .collect();
    let any_object = json!({"type": "object"});
    let arguments = match candidates {
        [one] => one
            .function
            .parameters
            .clone()
            .unwrap_or(any_object.clone()),
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

/// One parsed call: the tool's name and its arguments (a JSON object).
#[derive(Debug, Clone, PartialEq)]
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
        let body = &rest[start + CALL_OPEN.len()..];
        let (json, after) = match body.find(CALL_CLOSE) {
            Some(end) => (&body[..end], &body[end + CALL_CLOSE.len()..]),
            None => (body, ""), // the answer ended before the closing tag
        };
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

/// How an assistant turn with tool calls is written back into the prompt
/// (the model's own format, so it sees what it wrote).
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

/// Where a stream must stop showing text: `Ok(i)`, the tag starts at `i`;
/// `Err(i)`, the text from `i` on could be the start of `<tool_call>`.
fn call_start(text: &str) -> Result<usize, usize> {
    if let Some(i) = text.find(CALL_OPEN) {
        return Ok(i);
    }
    // the longest suffix of `text` that is a prefix of the tag
    let keep = (1..CALL_OPEN.len())
        .rev()
        .find(|&n| {
            text.len() >= n
                && text.is_char_boundary(text.len() - n)
                && CALL_OPEN.starts_with(&text[text.len() - n..])
        })
        .unwrap_or(0);
    Err(text.len() - keep)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_stream_holds_back_what_may_be_a_tag() {
        assert_eq!(call_start("Hello <tool"), Err(6));
        assert_eq!(call_start("Hello <tool_call>{"), Ok(6));
        assert_eq!(call_start("a < b"), Err(5));
        assert_eq!(call_start("é<"), Err("é".len()));
    }

    #[test]
    fn forced_calls_follow_the_tool_schema() {
        let t: Vec<Tool> = serde_json::from_value(json!([{"type": "function", "function": {
            "name": "f", "parameters": {"type": "object",
                "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}]))
        .unwrap();
        let g = call_grammar(&t);
        use locallm_infer::json_grammar::accepts;
        assert!(accepts(&g, br#"{"name": "f", "arguments": {"n": 3}}"#));
        assert!(!accepts(&g, br#"{"name": "g", "arguments": {"n": 3}}"#));
        assert!(!accepts(&g, br#"{"name": "f", "arguments": {"n": "3"}}"#));
    }
}
