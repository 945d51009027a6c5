//! The exercise's own tests, run against this solution.
extern crate ch09_sliding_window_solution as ch09_sliding_window;

#[path = "../../../ch09-sliding-window/tests/check.rs"]
mod check;
