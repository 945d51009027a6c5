//! The exercise's own tests, run against this solution.
extern crate ch17_q8_q4_blocks_solution as ch17_q8_q4_blocks;

#[path = "../../../ch17-q8-q4-blocks/tests/check.rs"]
mod check;
