//! The exercise's own tests, run against this solution.
extern crate ch27_template_check_solution as ch27_template_check;

#[path = "../../../ch27-template-check/tests/check.rs"]
mod check;
