//! The exercise's own tests, run against this solution.
extern crate ch03_flops_solution as ch03_flops;

#[path = "../../../ch03-flops/tests/check.rs"]
mod check;
