//! The exercise's own tests, run against this solution.
extern crate ch01_gradient_step_solution as ch01_gradient_step;

#[path = "../../../ch01-gradient-step/tests/check.rs"]
mod check;
