//! The exercise's own tests, run against this solution.
extern crate ch16_spm_merge_solution as ch16_spm_merge;

#[path = "../../../ch16-spm-merge/tests/check.rs"]
mod check;
