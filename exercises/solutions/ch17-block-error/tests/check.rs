//! The exercise's own tests, run against this solution.
extern crate ch17_block_error_solution as ch17_block_error;

#[path = "../../../ch17-block-error/tests/check.rs"]
mod check;
