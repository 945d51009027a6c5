//! The exercise's own tests, run against this solution.
extern crate ch17_pruning_solution as ch17_pruning;

#[path = "../../../ch17-pruning/tests/check.rs"]
mod check;
