//! A task-eval suite: prompts, what a right answer looks like, and the scoring.
//!
//! One JSON object per line:
//!
//! ```text
//! {"id": "add-1", "prompt": "What is 7 + 5? Answer with the number only.", "score": "exact", "expected": "12"}
//! {"id": "cap-fr", "prompt": "What is the capital of France?", "score": "contains", "expected": "Paris"}
//! {"id": "json-1", "prompt": "Reply with a JSON object with key \"ok\" set to true.", "score": "json", "expected": {"ok": true}}
//! ```
//!
//! Scoring is deliberately mechanical, so that two runs (two models) are
//! compared by the same rule and nobody's judgement: no partial credit, no
//! second model as a judge. `locallm eval` generates the answers.

use serde::Deserialize;
use serde_json::Value;

/// How an answer is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// The whole answer is the expected text (see [`normalize`]).
    Exact,
    /// The expected text appears somewhere in the answer (case-insensitive).
    Contains,
    /// The answer is valid JSON, and equal to `expected` when one is given.
    Json,
}

/// One task of a suite.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Item {
    pub id: String,
    pub prompt: String,
    pub score: Scoring,
    /// A string for `exact`/`contains`; any JSON value (or nothing) for `json`.
    #[serde(default)]
    pub expected: Value,
}

/// Why a suite file could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SuiteError {
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
    #[error("the suite has no items")]
    Empty,
}

/// Parses a JSONL suite; blank lines and lines starting with `#` are skipped.
pub fn parse_suite(text: &str) -> Result<Vec<Item>, SuiteError> {
    let mut items: Vec<Item> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let bad = |why: String| SuiteError::Line { line: line_no, why };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let item: Item = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        if item.score != Scoring::Json && !item.expected.is_string() {
            return Err(bad(format!(
                "{:?} scoring needs a string \"expected\"",
                item.score
            )));
        }
        if items.iter().any(|x| x.id == item.id) {
            return Err(bad(format!("duplicate id {:?}", item.id)));
        }
        items.push(item);
    }
    if items.is_empty() {
        return Err(SuiteError::Empty);
    }
    Ok(items)
}

// ANCHOR: score
/// Trim, drop one trailing full stop, lowercase: "Paris." and "paris" are
/// the same answer, "Paris, France" is not.
pub fn normalize(s: &str) -> String {
    let s = s.trim();
    s.strip_suffix('.').unwrap_or(s).trim().to_lowercase()
}

/// The JSON inside an answer: the whole answer, or the body of one
/// ```` ```json ```` fence, which chat models are trained to put code in.
fn json_body(answer: &str) -> &str {
    let a = answer.trim();
    let Some(rest) = a.strip_prefix("```") else {
        return a;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

/// Is `answer` right for `item`?
pub fn score(item: &Item, answer: &str) -> bool {
    let expected = item.expected.as_str().unwrap_or_default();
    match item.score {
        Scoring::Exact => normalize(answer) == normalize(expected),
        Scoring::Contains => answer.to_lowercase().contains(&expected.to_lowercase()),
        Scoring::Json => match serde_json::from_str::<Value>(json_body(answer)) {
            Ok(v) => item.expected.is_null() || v == item.expected,
            Err(_) => false,
        },
    }
}
// ANCHOR_END: score

#[cfg(test)]
mod tests {
    use super::*;

    fn item(score: Scoring, expected: Value) -> Item {
        Item {
            id: "t".into(),
            prompt: String::new(),
            score,
            expected,
        }
    }

    #[test]
    fn exact_ignores_case_space_and_one_full_stop() {
        let it = item(Scoring::Exact, "Paris".into());
        assert!(score(&it, " paris.\n"));
        assert!(!score(&it, "Paris, France"));
        assert!(!score(&it, "Paris.."));
        let n = item(Scoring::Exact, "12".into());
        assert!(score(&n, "12"));
        assert!(!score(&n, "123"));
    }

    #[test]
    fn contains_finds_the_answer_in_a_sentence() {
        let it = item(Scoring::Contains, "Canberra".into());
        assert!(score(&it, "The capital of Australia is canberra."));
        assert!(!score(&it, "Sydney"));
    }

    #[test]
    fn json_must_parse_and_match_when_expected() {
        let any = item(Scoring::Json, Value::Null);
        assert!(score(&any, "{\"a\": 1}"));
        assert!(score(&any, "```json\n{\"a\": 1}\n```"));
        assert!(!score(&any, "Sure! {\"a\": 1}"));
        assert!(!score(&any, "{\"a\": 1"));
        let exact = item(Scoring::Json, serde_json::json!({"a": 1}));
        assert!(score(&exact, "{ \"a\" : 1 }"));
        assert!(!score(&exact, "{\"a\": 2}"));
    }

    #[test]
    fn suites_are_checked_line_by_line() {
        let ok = "# arithmetic\n{\"id\":\"a\",\"prompt\":\"1+1?\",\"score\":\"exact\",\"expected\":\"2\"}\n\n";
        assert_eq!(parse_suite(ok).unwrap().len(), 1);
        assert_eq!(parse_suite("\n# nothing\n"), Err(SuiteError::Empty));
        let no_expected = "{\"id\":\"a\",\"prompt\":\"p\",\"score\":\"contains\"}";
        let err = parse_suite(no_expected).unwrap_err().to_string();
        assert!(err.starts_with("line 1: Contains scoring needs"), "{err}");
        let unknown = "{\"id\":\"a\",\"prompt\":\"p\",\"score\":\"fuzzy\",\"expected\":\"x\"}";
        assert!(
            parse_suite(unknown)
                .unwrap_err()
                .to_string()
                .contains("fuzzy")
        );
        let twice = format!("{ok}{ok}");
        let err = parse_suite(&twice).unwrap_err().to_string();
        assert!(err.contains("duplicate id"), "{err}");
    }
}
