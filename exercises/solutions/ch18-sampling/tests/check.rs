//! The exercise's own tests, run against this solution.
extern crate ch18_sampling_solution as ch18_sampling;

#[path = "../../../ch18-sampling/tests/check.rs"]
mod check;
