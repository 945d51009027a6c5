//! Constrained calls: the grammars a call is sampled under, so that it
//! always parses and validates.

use std::sync::Arc;

use locallm_infer::JsonGrammar;
use serde_json::json;

use crate::error::AgentError;
use crate::hermes::Tool;

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
