//! The exercise's own tests, run against this solution.
extern crate ch17_mix_bits_solution as ch17_mix_bits;

#[path = "../../../ch17-mix-bits/tests/check.rs"]
mod check;
