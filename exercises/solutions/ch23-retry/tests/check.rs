//! The exercise's own tests, run against this solution.
extern crate ch23_retry_solution as ch23_retry;

#[path = "../../../ch23-retry/tests/check.rs"]
mod check;
