//! The exercise's own tests, run against this solution.
extern crate ch07_rag_prompt_solution as ch07_rag_prompt;

#[path = "../../../ch07-rag-prompt/tests/check.rs"]
mod check;
