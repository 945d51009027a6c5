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
//! with a scripted model; [`crate::LocalModel`] is the real one. Tools are trait
//! objects ([`ToolFn`]).

use locallm_tokenizer::Message;
use serde_json::{Value, json};

use crate::chat_model::ChatModel;
use crate::check::{CallError, check_call};
use crate::constraint::CallConstraint;
use crate::error::AgentError;
use crate::hermes::{Call, Tool, render_result, system_prompt};

/// A tool the agent can run: its definition (name, description, arguments'
/// JSON Schema) and the code behind it.
pub trait ToolFn {
    fn definition(&self) -> Tool;
    /// Runs the tool on arguments that already validate against the
    /// schema. `Err` is a message for the model (e.g. "unknown city").
    fn call(&self, arguments: &Value) -> Result<Value, String>;
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
            Message::system(system_prompt(&self.definitions)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example_tools::example_tools;
    use crate::hermes::render_calls;

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

    /// A turn that makes one call, as the model writes it.
    fn call(name: &str, arguments: Value) -> String {
        render_calls("", &[(name.into(), arguments.to_string())])
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
}
