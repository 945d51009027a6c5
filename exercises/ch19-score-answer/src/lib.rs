//! Chapter 19 exercise: is a model's answer right?
//!
//! `locallm eval` scores an answer in one of three ways:
//!
//! - `"exact"`: `normalize(answer) == normalize(expected)`, where
//!   `normalize` trims white space, removes one trailing `.` (and the white
//!   space before it), and lowercases;
//! - `"contains"`: the lowercased answer contains the lowercased expected text;
//! - `"json"`: the answer is valid JSON, and equal to `expected` unless
//!   `expected` is `null`. Before parsing, trim the answer; if it starts
//!   with three backticks, drop them, then a `json` right after them if
//!   present, then three trailing backticks if present, and trim again.
//!
//! Parse JSON with `serde_json::from_str::<serde_json::Value>`.
//!
//! Check your work with `./check.sh ch19-score-answer` (from `exercises/`).
//! The tests compare your scores with `locallm eval`'s on the 150 answers of
//! chapter 19 (`evals/results/ch19.json`).

use serde_json::Value;

/// Trimmed, one trailing full stop removed, lowercase.
pub fn normalize(s: &str) -> String {
    // TODO
    let _ = s;
    todo!("normalize")
}

/// Is `answer` right, scored by `kind` ("exact", "contains" or "json")?
/// For exact and contains, `expected` is a JSON string.
pub fn score(kind: &str, expected: &Value, answer: &str) -> bool {
    // TODO: the three scorings above; an unknown kind is never right.
    let _ = (kind, expected, answer);
    todo!("score")
}
