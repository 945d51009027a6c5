//! The exercise's own tests, run against this solution.
extern crate ch04_cross_entropy_solution as ch04_cross_entropy;

#[path = "../../../ch04-cross-entropy/tests/check.rs"]
mod check;
