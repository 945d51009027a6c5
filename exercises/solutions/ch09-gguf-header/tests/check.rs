//! The exercise's own tests, run against this solution.
extern crate ch09_gguf_header_solution as ch09_gguf_header;

#[path = "../../../ch09-gguf-header/tests/check.rs"]
mod check;
