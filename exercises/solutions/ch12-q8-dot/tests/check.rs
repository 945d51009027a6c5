//! The exercise's own tests, run against this solution.
extern crate ch12_q8_dot_solution as ch12_q8_dot;

#[path = "../../../ch12-q8-dot/tests/check.rs"]
mod check;
