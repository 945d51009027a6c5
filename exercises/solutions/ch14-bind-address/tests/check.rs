//! The exercise's own tests, run against this solution.
extern crate ch14_bind_address_solution as ch14_bind_address;

#[path = "../../../ch14-bind-address/tests/check.rs"]
mod check;
