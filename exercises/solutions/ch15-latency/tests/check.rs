//! The exercise's own tests, run against this solution.
extern crate ch15_latency_solution as ch15_latency;

#[path = "../../../ch15-latency/tests/check.rs"]
mod check;
