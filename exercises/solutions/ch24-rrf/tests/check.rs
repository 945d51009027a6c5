//! The exercise's own tests, run against this solution.
extern crate ch24_rrf_solution as ch24_rrf;

#[path = "../../../ch24-rrf/tests/check.rs"]
mod check;
