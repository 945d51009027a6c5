//! The exercise's own tests, run against this solution.
extern crate ch06_bm25_solution as ch06_bm25;

#[path = "../../../ch06-bm25/tests/check.rs"]
mod check;
