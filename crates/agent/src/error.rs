//! What can go wrong around the loop (not inside a turn: a bad call is
//! a [`crate::CallError`], fed back to the model, never an error of the run).

use locallm_infer::{GenerateError, SchemaError};
use locallm_tokenizer::TokenizerError;

/// Why an agent cannot be built or a run cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("the schema of tool `{tool}` cannot be used: {source}")]
    Schema { tool: String, source: SchemaError },
    #[error("two tools are named `{0}`")]
    DuplicateTool(String),
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
}
