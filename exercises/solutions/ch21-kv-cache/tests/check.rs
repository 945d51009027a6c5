//! The exercise's own tests, run against this solution.
extern crate ch21_kv_cache_solution as ch21_kv_cache;

#[path = "../../../ch21-kv-cache/tests/check.rs"]
mod check;
