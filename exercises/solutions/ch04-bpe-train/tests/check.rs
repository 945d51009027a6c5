//! The exercise's own tests, run against this solution.
extern crate ch04_bpe_train_solution as ch04_bpe_train;

#[path = "../../../ch04-bpe-train/tests/check.rs"]
mod check;
