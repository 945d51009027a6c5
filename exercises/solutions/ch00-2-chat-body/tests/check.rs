//! The exercise's own tests, run against this solution.
extern crate ch00_2_chat_body_solution as ch00_2_chat_body;

#[path = "../../../ch00-2-chat-body/tests/check.rs"]
mod check;
