//! The exercise's own tests, run against this solution.
extern crate ch02_safetensors_offsets_solution as ch02_safetensors_offsets;

#[path = "../../../ch02-safetensors-offsets/tests/check.rs"]
mod check;
