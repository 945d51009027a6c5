//! An agent loop: the model proposes tool calls, Rust runs them, the results
//! go back into the conversation, until the model answers.
//!
//! A 135M-parameter model gets tool use wrong in every way there is: it
//! answers in prose when it should call, writes JSON that does not parse,
//! names tools that do not exist, forgets required arguments, puts a string
//! where a number goes, or loops. The loop is therefore mostly scaffolding,
//! each piece against one failure:
//!
//! - every call is parsed and its arguments **validated** against the tool's
//!   schema ([`check_call`]) before anything runs;
//! - an invalid call is **retried** a bounded number of times, with the
//!   validation error fed back to the model as the tool's response;
//! - a **step limit** ends a model that keeps calling;
//! - an answer with no call is the **refusal path**: the model declined (or
//!   answered from what it knows), and the loop returns its words as they
//!   are, never a made-up call;
//! - with **constrained decoding** ([`CallConstraint`]) a call, once the
//!   model opens `<tool_call>`, is sampled under a grammar of its schema, so
//!   it always parses and validates.
//!
//! The model is a trait ([`ChatModel`]) so that the scaffolding can be tested
//! with a scripted model; [`LocalModel`] is the real one. Tools are trait
//! objects ([`ToolFn`]).

use std::sync::Arc;

use locallm_tokenizer::{ChatTemplate, Message, Tokenizer};
use serde_json::{Value, json};

use crate::constrained::{JsonConstraint, TokenTrie};
use crate::generate::{FinishReason, GenerateOptions, Session};
use crate::json_grammar::{JsonGrammar, SchemaError};
use crate::sampler::SamplerConfig;
use crate::tools::{CALL_CLOSE, CALL_OPEN, Call, Tool, call_body, render_result};
use crate::validate::{ValidationError, validate};

/// A tool the agent can run: its definition (name, description, arguments'
/// JSON Schema) and the code behind it.
pub trait ToolFn {
    fn definition(&self) -> Tool;
    /// Runs the tool on arguments that already validate against the
    /// schema. `Err` is a message for the model (e.g. "unknown city").
    fn call(&self, arguments: &Value) -> Result<Value, String>;
}

/// Whatever writes the assistant's turns: the real model, or a script.
pub trait ChatModel {
    /// The next assistant turn after `messages`. With `constraint`, a call
    /// the turn makes is sampled under it.
    fn reply(
        &mut self,
        messages: &[Message],
        constraint: Option<&CallConstraint>,
    ) -> Result<String, AgentError>;
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("the schema of tool `{tool}` cannot be used: {source}")]
    Schema { tool: String, source: SchemaError },
    #[error("two tools are named `{0}`")]
    DuplicateTool(String),
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
    #[error(transparent)]
    Tokenizer(#[from] locallm_tokenizer::TokenizerError),
}

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

/// Grammars for a call to any of the tools, each with its own schema
/// enforced. One grammar cannot say "the arguments follow the schema of
/// whichever name was chosen" without `anyOf`, so the call is sampled in two
/// constrained pieces: the name (an enum of the tool names), then the
/// arguments (that tool's schema); the text between them is fixed.
pub struct CallConstraint {
    names: Arc<JsonGrammar>,
    arguments: Vec<(String, Arc<JsonGrammar>)>,
}

impl CallConstraint {
    pub fn new(tools: &[Tool]) -> Result<Self, AgentError> {
        let names: Vec<&str> = tools.iter().map(Tool::name).collect();
        let enum_of_names =
            JsonGrammar::from_schema(&json!({ "enum": names })).map_err(|source| {
                AgentError::Schema {
                    tool: names.join(", "),
                    source,
                }
            })?;
        let mut arguments = Vec::new();
        for t in tools {
            let grammar =
                JsonGrammar::from_schema(&t.parameters()).map_err(|source| AgentError::Schema {
                    tool: t.name().to_string(),
                    source,
                })?;
            arguments.push((t.name().to_string(), Arc::new(grammar)));
        }
        Ok(CallConstraint {
            names: Arc::new(enum_of_names),
            arguments,
        })
    }

    /// The grammar of the tool names (a JSON string, one of them).
    pub fn names(&self) -> Arc<JsonGrammar> {
        self.names.clone()
    }

    /// The grammar of `name`'s arguments.
    pub fn arguments(&self, name: &str) -> Option<Arc<JsonGrammar>> {
        self.arguments
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, g)| g.clone())
    }
}

/// Bounds of one run.
#[derive(Debug, Clone, Copy)]
pub struct AgentOptions {
    /// Most assistant turns (calls, retries and the answer together).
    pub max_steps: usize,
    /// Most invalid calls answered with their error before giving up.
    pub max_retries: usize,
    /// Sample calls under the tools' grammars.
    pub constrained: bool,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            max_steps: 6,
            max_retries: 2,
            constrained: true,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The model answered after at least one call.
    Answered(String),
    /// The model answered without calling any tool: it declined, or answered
    /// from what it knows. Returned as it is — the refusal path.
    NoTool(String),
    /// More invalid calls than `max_retries`; the last one's error.
    GaveUp(CallError),
    /// `max_steps` turns and still no answer.
    StepLimit,
}

/// One executed call and what the tool returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    pub call: Call,
    pub result: Result<Value, String>,
}

/// A finished run: how it ended, the calls made, the conversation.
#[derive(Debug, Clone)]
pub struct Run {
    pub outcome: Outcome,
    pub executed: Vec<Executed>,
    /// Invalid calls that were fed back.
    pub retries: usize,
    pub messages: Vec<Message>,
}

/// Tools plus the bounds of a run.
pub struct Agent {
    tools: Vec<Box<dyn ToolFn>>,
    definitions: Vec<Tool>,
    constraint: CallConstraint,
    pub options: AgentOptions,
}

impl Agent {
    /// Fails if two tools share a name or a schema is outside the subset
    /// the grammar (and the validator) support.
    pub fn new(tools: Vec<Box<dyn ToolFn>>, options: AgentOptions) -> Result<Self, AgentError> {
        let definitions: Vec<Tool> = tools.iter().map(|t| t.definition()).collect();
        for (i, t) in definitions.iter().enumerate() {
            if definitions[..i].iter().any(|u| u.name() == t.name()) {
                return Err(AgentError::DuplicateTool(t.name().to_string()));
            }
        }
        let constraint = CallConstraint::new(&definitions)?;
        Ok(Agent {
            tools,
            definitions,
            constraint,
            options,
        })
    }

    pub fn definitions(&self) -> &[Tool] {
        &self.definitions
    }

    pub fn constraint(&self) -> &CallConstraint {
        &self.constraint
    }

    /// The conversation before the first turn: the tools in the system
    /// prompt, then the question.
    pub fn first_messages(&self, question: &str) -> Vec<Message> {
        vec![
            Message::system(crate::tools::system_prompt(&self.definitions)),
            Message::user(question),
        ]
    }

    // ANCHOR: agent_loop
    /// Answers `question`, calling tools as the model asks.
    pub fn run(&self, model: &mut dyn ChatModel, question: &str) -> Result<Run, AgentError> {
        let mut messages = self.first_messages(question);
        let mut executed = Vec::new();
        let mut retries = 0;
        let constraint = self.options.constrained.then_some(&self.constraint);
        for _ in 0..self.options.max_steps {
            let text = model.reply(&messages, constraint)?;
            messages.push(Message::assistant(text.clone()));
            let call = match check_call(&text, &self.definitions) {
                Ok(Some(call)) => call,
                // no call: the answer (or the refusal) is the model's own words
                Ok(None) if executed.is_empty() => {
                    return Ok(self.end(Outcome::NoTool(text), executed, retries, messages));
                }
                Ok(None) => {
                    return Ok(self.end(Outcome::Answered(text), executed, retries, messages));
                }
                Err(error) => {
                    retries += 1;
                    if retries > self.options.max_retries {
                        return Ok(self.end(Outcome::GaveUp(error), executed, retries, messages));
                    }
                    // the error goes back as the tool's answer: try again
                    let feedback = json!({"error": error.to_string()}).to_string();
                    messages.push(Message::new("tool", render_result(&feedback)));
                    continue;
                }
            };
            let result = self.execute(&call);
            let content = match &result {
                Ok(v) => v.to_string(),
                Err(e) => json!({"error": e}).to_string(),
            };
            messages.push(Message::new("tool", render_result(&content)));
            executed.push(Executed { call, result });
        }
        Ok(self.end(Outcome::StepLimit, executed, retries, messages))
    }
    // ANCHOR_END: agent_loop

    fn execute(&self, call: &Call) -> Result<Value, String> {
        let i = self.definitions.iter().position(|t| t.name() == call.name);
        match i {
            Some(i) => self.tools[i].call(&call.arguments),
            None => Err(format!("there is no tool named `{}`", call.name)),
        }
    }

    fn end(
        &self,
        outcome: Outcome,
        executed: Vec<Executed>,
        retries: usize,
        messages: Vec<Message>,
    ) -> Run {
        Run {
            outcome,
            executed,
            retries,
            messages,
        }
    }
}

/// The real model behind [`ChatModel`]: the chat template, greedy decoding
/// by default, and constrained calls.
pub struct LocalModel<'s, 'm> {
    session: &'s mut Session<'m>,
    tokenizer: Arc<Tokenizer>,
    template: ChatTemplate,
    trie: Option<Arc<TokenTrie>>,
    /// Most tokens of one turn (and of each constrained piece of a call).
    pub max_tokens: usize,
    pub sampler: SamplerConfig,
}

impl<'s, 'm> LocalModel<'s, 'm> {
    pub fn new(
        session: &'s mut Session<'m>,
        tokenizer: Arc<Tokenizer>,
    ) -> Result<Self, AgentError> {
        let template = tokenizer.chat_template()?;
        Ok(LocalModel {
            session,
            tokenizer,
            template,
            trie: None,
            max_tokens: 128,
            sampler: SamplerConfig::greedy(),
        })
    }

    /// Generates from `prompt` (text); with `grammar`, under its mask;
    /// with `stop_at_call`, stops as soon as the text opens `<tool_call>`.
    fn complete(
        &mut self,
        prompt: &str,
        grammar: Option<Arc<JsonGrammar>>,
        stop_at_call: bool,
    ) -> Result<(String, FinishReason), AgentError> {
        let ids = self.tokenizer.encode_prompt(prompt)?;
        let opts = GenerateOptions {
            max_tokens: self.max_tokens,
            sampler: self.sampler.clone(),
            stop_tokens: self.tokenizer.stop_tokens().to_vec(),
        };
        let tokenizer = self.tokenizer.clone();
        let constraint = match grammar {
            Some(g) => {
                let trie = self
                    .trie
                    .get_or_insert_with(|| Arc::new(TokenTrie::new(&tokenizer)))
                    .clone();
                Some(JsonConstraint::new(g, trie, tokenizer.clone()))
            }
            None => None,
        };
        let mut generation = self.session.generate(&ids, opts)?;
        if let Some(c) = constraint {
            generation = generation.with_constraint(c);
        }
        let mut tokens = Vec::new();
        let mut text = String::new();
        for token in generation.by_ref() {
            tokens.push(token);
            text = tokenizer.decode(&tokens)?;
            if stop_at_call && text.contains(CALL_OPEN) {
                let end = text.find(CALL_OPEN).unwrap_or(0) + CALL_OPEN.len();
                text.truncate(end);
                return Ok((text, FinishReason::Stop));
            }
        }
        let finish = generation.finish_reason().unwrap_or(FinishReason::Stop);
        Ok((text, finish))
    }

    // ANCHOR: constrained_call
    /// A call sampled under `constraint`, the prompt ending in `prefix`
    /// (the start of the assistant turn, up to and with `<tool_call>`):
    /// first the name, from the enum of tool names, then the arguments,
    /// from that tool's schema. Returns the JSON text of the call.
    pub fn constrained_call(
        &mut self,
        prompt: &str,
        constraint: &CallConstraint,
    ) -> Result<String, AgentError> {
        let head = format!("{prompt}\n{{\"name\": ");
        let (name, _) = self.complete(&head, Some(constraint.names()), false)?;
        let name = name.trim();
        let chosen: Option<String> = serde_json::from_str(name).ok();
        let Some(grammar) = chosen.as_deref().and_then(|n| constraint.arguments(n)) else {
            // cut short (max_tokens): return what there is, it will not parse
            return Ok(format!("{{\"name\": {name}"));
        };
        let head = format!("{head}{name}, \"arguments\": ");
        let (arguments, _) = self.complete(&head, Some(grammar), false)?;
        Ok(format!(
            "{{\"name\": {name}, \"arguments\": {}}}",
            arguments.trim()
        ))
    }
    // ANCHOR_END: constrained_call

    /// The prompt text of `messages`, ending with the assistant header.
    pub fn render(&self, messages: &[Message]) -> Result<String, AgentError> {
        Ok(self.template.render(messages, true)?)
    }

    /// A turn that must be a call: the prompt already ends in
    /// `<tool_call>`, the JSON is constrained. The turn's text.
    pub fn forced_call(
        &mut self,
        messages: &[Message],
        constraint: &CallConstraint,
    ) -> Result<String, AgentError> {
        let prompt = format!("{}{CALL_OPEN}", self.render(messages)?);
        let call = self.constrained_call(&prompt, constraint)?;
        Ok(format!("{CALL_OPEN}\n{call}\n{CALL_CLOSE}"))
    }
}

impl ChatModel for LocalModel<'_, '_> {
    /// Free text; with a constraint, the model still chooses whether to
    /// call (a "lazy" grammar, as llama.cpp's triggers): once it writes
    /// `<tool_call>`, the call itself is sampled under the grammar.
    fn reply(
        &mut self,
        messages: &[Message],
        constraint: Option<&CallConstraint>,
    ) -> Result<String, AgentError> {
        let prompt = self.render(messages)?;
        let Some(constraint) = constraint else {
            return Ok(self.complete(&prompt, None, false)?.0);
        };
        let (text, _) = self.complete(&prompt, None, true)?;
        if !text.ends_with(CALL_OPEN) {
            return Ok(text);
        }
        let call = self.constrained_call(&format!("{prompt}{text}"), constraint)?;
        Ok(format!("{text}\n{call}\n{CALL_CLOSE}"))
    }
}

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
    use crate::example_tools::example_tools;

    /// A "model" that answers from a script, and records what it saw.
    struct Scripted {
        turns: Vec<String>,
        seen: Vec<Vec<Message>>,
    }

    impl Scripted {
        fn new(turns: &[&str]) -> Self {
            Scripted {
                turns: turns.iter().rev().map(|s| s.to_string()).collect(),
                seen: Vec::new(),
            }
        }
    }

    impl ChatModel for Scripted {
        fn reply(
            &mut self,
            messages: &[Message],
            _: Option<&CallConstraint>,
        ) -> Result<String, AgentError> {
            self.seen.push(messages.to_vec());
            Ok(self.turns.pop().unwrap_or_else(|| "(script ended)".into()))
        }
    }

    fn agent(max_steps: usize, max_retries: usize) -> Agent {
        let options = AgentOptions {
            max_steps,
            max_retries,
            constrained: false,
        };
        Agent::new(example_tools(), options).unwrap()
    }

    fn call(name: &str, arguments: Value) -> String {
        format!(
            "{CALL_OPEN}\n{}\n{CALL_CLOSE}",
            json!({"name": name, "arguments": arguments})
        )
    }

    #[test]
    fn a_call_runs_and_its_result_reaches_the_model() {
        let mut model = Scripted::new(&[
            &call(
                "calculator",
                json!({"operation": "multiply", "a": 6, "b": 7}),
            ),
            "6 times 7 is 42.",
        ]);
        let run = agent(4, 1).run(&mut model, "What is 6 times 7?").unwrap();
        assert_eq!(run.outcome, Outcome::Answered("6 times 7 is 42.".into()));
        assert_eq!(run.executed.len(), 1);
        assert_eq!(run.executed[0].result, Ok(json!(42.0)));
        let last = model.seen[1].last().unwrap();
        assert_eq!(last.role, "tool");
        assert_eq!(last.content, render_result("42.0"));
    }

    #[test]
    fn invalid_arguments_are_fed_back_and_retried() {
        let mut model = Scripted::new(&[
            &call("get_weather", json!({"town": "Paris"})),
            &call("get_weather", json!({"city": "Paris"})),
            "It is 18 degrees in Paris.",
        ]);
        let run = agent(5, 2).run(&mut model, "Weather in Paris?").unwrap();
        assert_eq!(run.retries, 1);
        assert_eq!(run.executed.len(), 1);
        assert!(matches!(run.outcome, Outcome::Answered(_)));
        // what the model read after its bad call: the validation error
        let feedback = &model.seen[1].last().unwrap().content;
        assert!(
            feedback.contains("the required property `city` is missing"),
            "{feedback}"
        );
    }

    #[test]
    fn retries_are_bounded() {
        let bad = call("get_weather", json!({"city": 7}));
        let unknown = call("book_flight", json!({}));
        let mut model = Scripted::new(&["<tool_call>{\"name\": ", &bad, &unknown, &bad]);
        let run = agent(10, 2).run(&mut model, "Weather?").unwrap();
        assert_eq!(run.retries, 3);
        assert!(run.executed.is_empty());
        assert_eq!(model.seen.len(), 3, "no turn after the third invalid call");
        assert_eq!(
            run.outcome,
            Outcome::GaveUp(CallError::UnknownTool("book_flight".into()))
        );
    }

    #[test]
    fn a_model_that_keeps_calling_hits_the_step_limit() {
        let c = call("get_weather", json!({"city": "Oslo"}));
        let mut model = Scripted::new(&[&c, &c, &c, &c, &c]);
        let run = agent(3, 1).run(&mut model, "Weather in Oslo?").unwrap();
        assert_eq!(run.outcome, Outcome::StepLimit);
        assert_eq!(run.executed.len(), 3);
        assert_eq!(model.seen.len(), 3);
    }

    #[test]
    fn an_answer_without_a_call_is_returned_as_is() {
        let mut model = Scripted::new(&["I cannot book flights."]);
        let run = agent(3, 1)
            .run(&mut model, "Book me a flight to Rome.")
            .unwrap();
        assert_eq!(
            run.outcome,
            Outcome::NoTool("I cannot book flights.".into())
        );
        assert!(run.executed.is_empty());
    }

    #[test]
    fn a_tool_error_goes_back_to_the_model_not_up() {
        let mut model = Scripted::new(&[
            &call("get_weather", json!({"city": "Atlantis"})),
            "I do not know the weather in Atlantis.",
        ]);
        let run = agent(3, 1).run(&mut model, "Weather in Atlantis?").unwrap();
        assert!(run.executed[0].result.is_err());
        assert!(model.seen[1].last().unwrap().content.contains("error"));
        assert!(matches!(run.outcome, Outcome::Answered(_)));
    }

    #[test]
    fn check_call_says_what_is_wrong() {
        let agent = agent(1, 0);
        let tools = agent.definitions();
        assert_eq!(check_call("Sunny.", tools), Ok(None));
        assert!(matches!(
            check_call("<tool_call>{\"name\": \"calculator\", </tool_call>", tools),
            Err(CallError::Syntax(_))
        ));
        assert_eq!(
            check_call("<tool_call>[1]</tool_call>", tools),
            Err(CallError::Shape)
        );
        let e = check_call(
            &call("calculator", json!({"operation": "pow", "a": 2, "b": 3})),
            tools,
        );
        assert!(matches!(e, Err(CallError::Invalid { .. })), "{e:?}");
    }

    #[test]
    fn duplicate_names_and_unsupported_schemas_are_refused() {
        let mut tools = example_tools();
        tools.extend(example_tools());
        assert!(matches!(
            Agent::new(tools, AgentOptions::default()),
            Err(AgentError::DuplicateTool(_))
        ));
        struct Patterned;
        impl ToolFn for Patterned {
            fn definition(&self) -> Tool {
                let schema = json!({"type": "object", "properties": {
                    "id": {"type": "string", "pattern": "^[a-z]+$"}}});
                Tool::function("lookup", "Looks up an id.", schema)
            }
            fn call(&self, _: &Value) -> Result<Value, String> {
                Ok(Value::Null)
            }
        }
        let err = Agent::new(vec![Box::new(Patterned)], AgentOptions::default()).err();
        assert!(
            err.is_some_and(|e| e.to_string().contains("`pattern`")),
            "a keyword the validator would ignore must not pass"
        );
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
