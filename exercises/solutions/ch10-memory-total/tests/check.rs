//! The exercise's own tests, run against this solution.
extern crate ch10_memory_total_solution as ch10_memory_total;

#[path = "../../../ch10-memory-total/tests/check.rs"]
mod check;
