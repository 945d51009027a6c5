//! The exercise's own tests, run against this solution.
extern crate ch26_lora_solution as ch26_lora;

#[path = "../../../ch26-lora/tests/check.rs"]
mod check;
