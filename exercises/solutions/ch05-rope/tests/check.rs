//! The exercise's own tests, run against this solution.
extern crate ch05_rope_solution as ch05_rope;

#[path = "../../../ch05-rope/tests/check.rs"]
mod check;
