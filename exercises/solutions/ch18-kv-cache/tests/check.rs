//! The exercise's own tests, run against this solution.
extern crate ch18_kv_cache_solution as ch18_kv_cache;

#[path = "../../../ch18-kv-cache/tests/check.rs"]
mod check;
