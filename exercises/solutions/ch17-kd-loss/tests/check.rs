//! The exercise's own tests, run against this solution.
extern crate ch17_kd_loss_solution as ch17_kd_loss;

#[path = "../../../ch17-kd-loss/tests/check.rs"]
mod check;
