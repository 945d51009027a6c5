//! The exercise's own tests, run against this solution.
extern crate ch19_score_answer_solution as ch19_score_answer;

#[path = "../../../ch19-score-answer/tests/check.rs"]
mod check;
