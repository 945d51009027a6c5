//! The exercise's own tests, run against this solution.
extern crate ch00_3_queue_solution as ch00_3_queue;

#[path = "../../../ch00-3-queue/tests/check.rs"]
mod check;
