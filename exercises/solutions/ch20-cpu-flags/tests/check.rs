//! The exercise's own tests, run against this solution.
extern crate ch20_cpu_flags_solution as ch20_cpu_flags;

#[path = "../../../ch20-cpu-flags/tests/check.rs"]
mod check;
