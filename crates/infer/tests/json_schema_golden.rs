//! The schema grammar against the Python `jsonschema` package, the
//! reference validator (tests/golden/json_schema, written by
//! scripts/golden_json_schema.py):
//!
//! - on every recorded instance, the grammar accepts its JSON text exactly
//!   when jsonschema says it is valid;
//! - every text a random walk through the grammar writes, jsonschema
//!   validates (this half runs jsonschema itself, in a subprocess).

use std::io::Write;
use std::process::{Command, Stdio};

use locallm_infer::json_grammar::{JsonGrammar, accepts};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256StarStar;
use serde_json::{Value, json};

fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/json_schema/jsonschema_verdicts.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_grammar_agrees_with_jsonschema_on_every_instance() {
    let golden = golden();
    let mut checked = 0;
    for case in golden["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let grammar =
            JsonGrammar::from_schema(&case["schema"]).unwrap_or_else(|e| panic!("{name}: {e}"));
        for instance in case["instances"].as_array().unwrap() {
            let text = instance["value"].to_string();
            let valid = instance["valid"].as_bool().unwrap();
            assert_eq!(
                accepts(&grammar, text.as_bytes()),
                valid,
                "{name}: jsonschema says {text} is {}",
                if valid { "valid" } else { "invalid" }
            );
            checked += 1;
        }
    }
    assert!(checked > 3000, "{checked}");
}

/// A random text the grammar accepts: from each state a random allowed
/// byte, until the value is complete (`None` if the walk runs too long).
/// After 40 bytes it steers home: a closing `"`, `]` or `}` when one is
/// allowed, else punctuation, else whatever is allowed (a literal's letters).
fn walk(grammar: &JsonGrammar, rng: &mut impl Rng) -> Option<String> {
    let mut state = grammar.start();
    let mut text = Vec::new();
    while !(state.is_complete(grammar) && (text.len() > 40 || rng.random_bool(0.5))) {
        let allowed: Vec<u8> = (0..=255u8)
            .filter(|&b| state.clone().advance(grammar, b))
            .collect();
        let prefer = |keep: &dyn Fn(u8) -> bool| -> Vec<u8> {
            allowed.iter().copied().filter(|&b| keep(b)).collect()
        };
        let choices = match text.len() {
            0..40 => allowed.clone(),
            _ => [
                prefer(&|b| b"\"]}".contains(&b)),
                prefer(&|b| b.is_ascii_punctuation()),
                allowed.clone(),
            ]
            .into_iter()
            .find(|c| !c.is_empty())
            .unwrap_or_default(),
        };
        if choices.is_empty() {
            break;
        }
        let b = choices[rng.random_range(0..choices.len())];
        assert!(state.advance(grammar, b));
        text.push(b);
        if text.len() > 2000 {
            return None;
        }
    }
    state
        .is_complete(grammar)
        .then(|| String::from_utf8(text).unwrap())
}

#[test]
fn what_the_grammar_writes_jsonschema_validates() {
    let golden = golden();
    let mut rng = Xoshiro256StarStar::seed_from_u64(8);
    let mut walks = Vec::new();
    for case in golden["cases"].as_array().unwrap() {
        let grammar = JsonGrammar::from_schema(&case["schema"]).unwrap();
        let mut n = 0;
        for _ in 0..400 {
            if n == 40 {
                break;
            }
            if let Some(text) = walk(&grammar, &mut rng) {
                let value: Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
                walks.push(json!({"case": case["name"], "schema": case["schema"], "value": value}));
                n += 1;
            }
        }
        assert_eq!(n, 40, "{}: random walks do not finish", case["name"]);
    }
    // jsonschema, with the golden script's reading of the schemas (closed objects)
    let check = r#"
import json, sys
sys.path.insert(0, "scripts")
import jsonschema
from golden_json_schema import closed
bad = [w for w in map(json.loads, sys.stdin)
       if not jsonschema.Draft202012Validator(closed(w["schema"])).is_valid(w["value"])]
print(json.dumps([[w["case"], w["value"]] for w in bad]))
"#;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut child = Command::new("python3")
        .args(["-c", check])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input: String = walks.iter().map(|w| format!("{w}\n")).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "jsonschema is needed: `python3 -m pip install jsonschema pydantic`\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        bad,
        json!([]),
        "texts the grammar wrote that jsonschema rejects"
    );
    assert!(walks.len() >= 17 * 40);
}

#[test]
fn unsupported_keywords_and_ambiguous_unions_are_refused_by_name() {
    let refused = |schema: Value, words: &[&str]| {
        let err = JsonGrammar::from_schema(&schema).unwrap_err().to_string();
        for w in words {
            assert!(err.contains(w), "{err} should name {w}");
        }
    };
    refused(
        json!({"type": "string", "pattern": "^a"}),
        &["`pattern`", "regular expressions"],
    );
    refused(
        json!({"type": "string", "format": "date-time"}),
        &["`format`"],
    );
    refused(
        json!({"anyOf": [{"type": "object"}, {"type": "object", "properties": {}}]}),
        &["start with `{`"],
    );
    refused(
        json!({"oneOf": [{"type": "integer"}, {"type": "number"}]}),
        &["start with `-`"],
    );
    refused(
        json!({"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}),
        &["refers to itself"],
    );
    refused(json!({"$ref": "#/$defs/missing"}), &["points at nothing"]);
    refused(json!({"$ref": "other.json#/a"}), &["into this schema"]);
    refused(
        json!({"type": "integer", "anyOf": [{"minimum": 1}]}),
        &["next to `anyOf`"],
    );
    refused(json!({"type": "integer", "enum": ["a"]}), &["`enum`"]);
    refused(
        json!({"type": "array", "minItems": 3, "maxItems": 2}),
        &["minItems"],
    );
}
