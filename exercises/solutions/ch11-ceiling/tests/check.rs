//! The exercise's own tests, run against this solution.
extern crate ch11_ceiling_solution as ch11_ceiling;

#[path = "../../../ch11-ceiling/tests/check.rs"]
mod check;
