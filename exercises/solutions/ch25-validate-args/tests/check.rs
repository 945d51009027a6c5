//! The exercise's own tests, run against this solution.
extern crate ch25_validate_args_solution as ch25_validate_args;

#[path = "../../../ch25-validate-args/tests/check.rs"]
mod check;
