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
    let s = s.trim();
    s.strip_suffix('.').unwrap_or(s).trim().to_lowercase()
}

/// Is `answer` right, scored by `kind` ("exact", "contains" or "json")?
/// For exact and contains, `expected` is a JSON string.
pub fn score(kind: &str, expected: &Value, answer: &str) -> bool {
    let text = expected.as_str().unwrap_or_default();
    match kind {
        "exact" => normalize(answer) == normalize(text),
        "contains" => answer.to_lowercase().contains(&text.to_lowercase()),
        "json" => {
            let mut body = answer.trim();
            if let Some(rest) = body.strip_prefix("```") {
                let rest = rest.strip_prefix("json").unwrap_or(rest);
                body = rest.strip_suffix("```").unwrap_or(rest).trim();
            }
            match serde_json::from_str::<Value>(body) {
                Ok(v) => expected.is_null() || &v == expected,
                Err(_) => false,
            }
        }
        _ => false,
    }
}
