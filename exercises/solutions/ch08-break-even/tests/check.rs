//! The exercise's own tests, run against this solution.
extern crate ch08_break_even_solution as ch08_break_even;

#[path = "../../../ch08-break-even/tests/check.rs"]
mod check;
