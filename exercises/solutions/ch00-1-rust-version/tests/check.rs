//! The exercise's own tests, run against this solution.
extern crate ch00_1_rust_version_solution as ch00_1_rust_version;

#[path = "../../../ch00-1-rust-version/tests/check.rs"]
mod check;
