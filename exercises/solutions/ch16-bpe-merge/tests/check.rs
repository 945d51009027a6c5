//! The exercise's own tests, run against this solution.
extern crate ch16_bpe_merge_solution as ch16_bpe_merge;

#[path = "../../../ch16-bpe-merge/tests/check.rs"]
mod check;
