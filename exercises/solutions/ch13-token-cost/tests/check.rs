//! The exercise's own tests, run against this solution.
extern crate ch13_token_cost_solution as ch13_token_cost;

#[path = "../../../ch13-token-cost/tests/check.rs"]
mod check;
