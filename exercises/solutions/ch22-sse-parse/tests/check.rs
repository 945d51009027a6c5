//! The exercise's own tests, run against this solution.
extern crate ch22_sse_parse_solution as ch22_sse_parse;

#[path = "../../../ch22-sse-parse/tests/check.rs"]
mod check;
