//! The exercise's own tests, run against this solution.
extern crate ch00_4_cache_usage_solution as ch00_4_cache_usage;

#[path = "../../../ch00-4-cache-usage/tests/check.rs"]
mod check;
