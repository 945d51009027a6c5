//! The exercise's own tests, run against this solution.
extern crate ch09_rms_norm_solution as ch09_rms_norm;

#[path = "../../../ch09-rms-norm/tests/check.rs"]
mod check;
