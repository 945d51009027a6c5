//! Tool calls on the wire: OpenAI's `tools`/`tool_choice` in, `tool_calls`
//! out, mapped to the format the model was trained on.
//!
//! A model does not "call" anything: it writes text, and a convention says
//! which text is a call. SmolLM2's ChatML, like most small open models,
//! follows the Hermes convention: the tools are listed as JSON inside
//! `<tools></tools>` in the system prompt, and a call is a JSON object
//! `{"name": .., "arguments": {..}}` between `<tool_call>` and
//! `</tool_call>`. The server writes the first and parses the second (with
//! `locallm_agent::hermes`, which the agent loop shares), so the client sees
//! OpenAI's structured `tool_calls`.
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

use crate::error::{ApiError, Flavor, Kind};
use crate::state::AppState;

// The format itself (prompt block, parsing, rendering) lives in
// `locallm_agent::hermes`, shared with the agent loop.
pub use locallm_agent::hermes::{
    CALL_OPEN, Call, Function, Tool, call_grammar, parse_calls, render_calls, render_result,
    system_prompt,
};

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

    /// The conversation as a prompt that fits the context
    /// ([`AppState::fit_chat`]); with a forced call it ends inside the tag.
    pub fn prompt(
        &self,
        state: &AppState,
        flavor: Flavor,
        messages: Vec<Message>,
        truncate: bool,
    ) -> Result<FittedPrompt, ApiError> {
        let (mut ids, dropped) = state.fit_chat(flavor, messages, truncate)?;
        let grammar = match self.forced() {
            Some((open, call)) => {
                state.extend_prompt(flavor, &mut ids, &open, "messages")?;
                Some(call)
            }
            None => None,
        };
        Ok(FittedPrompt {
            ids,
            dropped,
            grammar,
        })
    }

    /// A forced call: the text the prompt ends with (the answer starts
    /// inside the tag) and the grammar of the JSON that follows.
    fn forced(&self) -> Option<(String, Arc<JsonGrammar>)> {
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

/// A chat prompt with its tools, as [`Plan::prompt`] makes it.
pub struct FittedPrompt {
    pub ids: Vec<u32>,
    /// Prompt tokens that `"truncation": "auto"` dropped to fit.
    pub dropped: usize,
    /// A forced call's grammar: the answer must follow it.
    pub grammar: Option<Arc<JsonGrammar>>,
}

/// A streamed answer with tools: prose goes out as it comes, but text that
/// may be a call is held back until the end tells whether it is one.
pub struct CallStream {
    all: String,
    sent: usize,
    in_call: bool,
    /// Without tools every piece is prose: it passes straight through.
    with_tools: bool,
}

impl CallStream {
    pub fn new(plan: &Plan) -> Self {
        CallStream {
            all: String::new(),
            sent: 0,
            in_call: matches!(plan, Plan::Forced { .. }),
            with_tools: !plan.tools().is_empty(),
        }
    }

    /// The part of the next piece to show now: all of it without tools,
    /// else what [`CallStream::push`] releases.
    pub fn pass(&mut self, piece: String) -> String {
        if self.with_tools {
            self.push(&piece)
        } else {
            piece
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
        if calls.is_empty() {
            (self.all[self.sent..].to_string(), calls)
        } else {
            (String::new(), calls)
        }
    }
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

    #[test]
    fn a_stream_holds_back_what_may_be_a_tag() {
        assert_eq!(call_start("Hello <tool"), Err(6));
        assert_eq!(call_start("Hello <tool_call>{"), Ok(6));
        assert_eq!(call_start("a < b"), Err(5));
        assert_eq!(call_start("é<"), Err("é".len()));
    }
}
