//! # locallm-agent: tool use
//!
//! A model does not call anything: it writes text, and a convention says
//! which text is a call. Everything that turns that text into tools being
//! run lives here, on top of `locallm-infer` (generation and the JSON
//! grammar that constrains it), in the order a call meets it:
//!
//! 1. [`hermes`] — the text format SmolLM2 was trained on: the tools listed
//!    in the system prompt, a call in a `<tool_call>` block, the result in a
//!    `<tool_response>`. The server's OpenAI and Anthropic endpoints use it
//!    too, so there is one way to write a tool prompt and to read a call;
//! 2. [`validate`](mod@validate) — a parsed call's arguments against the tool's JSON
//!    Schema, with the argument at fault and why, in words;
//! 3. [`check`] — one assistant turn: does it call, can the call run, and
//!    (for scoring) is it the call that was expected;
//! 4. [`constraint`] — the grammars a call is sampled under, so that it
//!    always parses and validates;
//! 5. [`chat_model`] — what writes the turns: a trait, so the loop can be
//!    tested with a script, and the local model behind it;
//! 6. [`agent`] — the loop: the model calls, Rust checks and runs the call,
//!    the result goes back, until the model answers (or a bound stops it);
//! 7. [`example_tools`] — three deterministic tools (weather table,
//!    calculator, unit converter) and the tool-use suite's format, shared by
//!    this crate's tests, `locallm eval-tools` and chapter 25.

pub mod agent;
pub mod chat_model;
pub mod check;
pub mod constraint;
pub mod error;
pub mod example_tools;
pub mod hermes;
pub mod validate;

pub use agent::{Agent, AgentOptions, Executed, Outcome, Run, ToolFn};
pub use chat_model::{ChatModel, LocalModel};
pub use check::{CallError, check_call, same_call};
pub use constraint::CallConstraint;
pub use error::AgentError;
pub use hermes::{Call, Tool};
pub use validate::{ValidationError, validate};
