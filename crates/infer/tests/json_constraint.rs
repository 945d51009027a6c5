//! The JSON automaton against serde_json (the reference parser), and the
//! token mask on the real vocabulary: whatever path the sampler takes
//! through the allowed tokens, the text parses and validates.

use std::sync::Arc;

use locallm_infer::constrained::{Allowed, JsonConstraint, TokenTrie};
use locallm_infer::json_grammar::{JsonGrammar, accepts};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256StarStar;
use serde_json::{Value, json};

/// A random JSON value, nested at most `depth` deep.
fn random_value(rng: &mut impl Rng, depth: u32) -> Value {
    let strings = [
        "",
        "a",
        "hello world",
        "quote \" and \\ backslash",
        "tab\tnew\nline",
        "é ü 東京 😀",
        "\u{1}",
    ];
    match rng.random_range(0..if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => json!(rng.random_range(-1_000_000i64..1_000_000)),
        3 => json!(rng.random::<f64>() * 10f64.powi(rng.random_range(-20..20))),
        4 => json!(strings[rng.random_range(0..strings.len())]),
        5 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.random_range(0..4))
                .map(|i| {
                    (
                        format!("k{i}{}", strings[rng.random_range(0..strings.len())]),
                        random_value(rng, depth - 1),
                    )
                })
                .collect(),
        ),
    }
}

#[test]
fn every_json_text_serde_writes_is_accepted() {
    let grammar = JsonGrammar::any_value();
    let mut rng = Xoshiro256StarStar::seed_from_u64(1);
    for _ in 0..2000 {
        let v = random_value(&mut rng, 4);
        for text in [v.to_string(), serde_json::to_string_pretty(&v).unwrap()] {
            assert!(
                accepts(&grammar, text.as_bytes()),
                "rejected valid JSON: {text}"
            );
        }
    }
}

#[test]
fn what_the_automaton_accepts_serde_parses() {
    // random edits of valid texts: whenever we accept, serde must too
    let grammar = JsonGrammar::any_value();
    let mut rng = Xoshiro256StarStar::seed_from_u64(2);
    let alphabet = b"{}[]\",:\\ 0123456789.eE+-truefalsn\tu\x01\xc3\xa9";
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..20000 {
        let mut text = random_value(&mut rng, 3).to_string().into_bytes();
        for _ in 0..rng.random_range(1..3) {
            let at = rng.random_range(0..=text.len());
            let b = alphabet[rng.random_range(0..alphabet.len())];
            match rng.random_range(0..3) {
                0 => text.insert(at, b),
                1 if at < text.len() => {
                    text.remove(at);
                }
                _ if at < text.len() => text[at] = b,
                _ => {}
            }
        }
        let serde_ok = serde_json::from_slice::<Value>(&text).is_ok();
        if accepts(&grammar, &text) {
            accepted += 1;
            assert!(
                serde_ok,
                "accepted invalid JSON: {}",
                String::from_utf8_lossy(&text)
            );
        } else {
            rejected += 1;
        }
    }
    // the edits must produce both outcomes, or the test proves nothing
    assert!(
        accepted > 1000 && rejected > 1000,
        "{accepted} accepted, {rejected} rejected"
    );
}

#[test]
fn json_object_mode_wants_an_object() {
    let g = JsonGrammar::any_object();
    assert!(accepts(&g, br#"{"a": [1, 2.5e3, "x"], "b": {"c": null}}"#));
    for bad in [
        &b"[1]"[..],
        b"\"x\"",
        b"12",
        b"{\"a\" 1}",
        b"{\"a\":1,}",
        b"{\"a\":1} x",
        b"{'a':1}",
    ] {
        assert!(!accepts(&g, bad), "{}", String::from_utf8_lossy(bad));
    }
}

fn weather_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
            "hourly": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["city", "unit"]
    })
}

#[test]
fn schema_texts_accepted_and_rejected() {
    let g = JsonGrammar::from_schema(&weather_schema()).unwrap();
    let good = [
        r#"{"city": "Paris", "unit": "celsius"}"#,
        r#"{"unit":"fahrenheit","city":"Austin","days":3,"tags":["a","b"]}"#,
        r#"{ "city" : "Oslo" , "unit" : "celsius" , "hourly" : true }"#,
    ];
    for text in good {
        assert!(accepts(&g, text.as_bytes()), "{text}");
    }
    let bad = [
        r#"{"city": "Paris"}"#,                                 // unit is required
        r#"{"city": "Paris", "unit": "kelvin"}"#,               // not in the enum
        r#"{"city": "Paris", "unit": "celsius", "days": 2.5}"#, // not an integer
        r#"{"city": "Paris", "unit": "celsius", "wind": 1}"#,   // no other keys
        r#"{"city": 7, "unit": "celsius"}"#,                    // city is a string
        r#"{"city": "P", "unit": "celsius", "tags": [1]}"#,     // tags are strings
        r#"["city"]"#,
    ];
    for text in bad {
        assert!(!accepts(&g, text.as_bytes()), "{text}");
    }
}

#[test]
fn unsupported_keywords_are_refused_by_name() {
    let err = JsonGrammar::from_schema(&json!({"type": "string", "pattern": "^a"})).unwrap_err();
    assert!(err.to_string().contains("`pattern`"), "{err}");
    let err = JsonGrammar::from_schema(&json!({"type": ["string", 7]})).unwrap_err();
    assert!(err.to_string().contains("type"), "{err}");
    let err = JsonGrammar::from_schema(&json!({"type": "object", "required": ["x"]})).unwrap_err();
    assert!(err.to_string().contains("required"), "{err}");
}

/// Our schema subset, checked on a parsed value (the test's own validator,
/// written from the JSON Schema definitions).
fn validates(schema: &Value, v: &Value) -> bool {
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return options.contains(v);
    }
    match schema.get("type").and_then(Value::as_str) {
        None => true,
        Some("string") => v.is_string(),
        // an integer is a number without a fractional part (`-0` included)
        Some("integer") => v.as_f64().is_some_and(|x| x.fract() == 0.0),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        Some("null") => v.is_null(),
        Some("array") => v
            .as_array()
            .is_some_and(|a| a.iter().all(|x| validates(&schema["items"], x))),
        Some("object") => {
            let Some(obj) = v.as_object() else {
                return false;
            };
            let props = schema["properties"].as_object().unwrap();
            let required = schema["required"].as_array().unwrap();
            required
                .iter()
                .all(|k| obj.contains_key(k.as_str().unwrap()))
                && obj
                    .iter()
                    .all(|(k, x)| props.get(k).is_some_and(|s| validates(s, x)))
        }
        Some(_) => false,
    }
}

#[test]
fn random_walks_through_the_schema_always_validate() {
    // from every state, pick a random allowed byte until the value is done
    let schema = weather_schema();
    let g = JsonGrammar::from_schema(&schema).unwrap();
    let mut rng = Xoshiro256StarStar::seed_from_u64(3);
    let mut walks = 0;
    while walks < 300 {
        let mut state = g.start();
        let mut text = Vec::new();
        while !(state.is_complete(&g) && (text.len() > 60 || rng.random_bool(0.5))) {
            let allowed: Vec<u8> = (0..=255u8)
                .filter(|&b| state.clone().advance(&g, b))
                // keep walks short: prefer structure over endless strings
                .filter(|&b| text.len() < 80 || !b.is_ascii_alphanumeric())
                .collect();
            if allowed.is_empty() {
                break;
            }
            let b = allowed[rng.random_range(0..allowed.len())];
            assert!(state.advance(&g, b));
            text.push(b);
            if text.len() > 400 {
                break;
            }
        }
        if !state.is_complete(&g) {
            continue; // a walk cut short proves nothing either way
        }
        walks += 1;
        let v: Value = serde_json::from_slice(&text)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&text)));
        assert!(validates(&schema, &v), "{v}");
    }
}

#[test]
fn token_walks_on_the_real_vocabulary_parse_and_validate() {
    let path = locallm_models::default_model().unwrap();
    let gguf = locallm_quant::GgufFile::open(&path).unwrap();
    let tokenizer = Arc::new(locallm_tokenizer::Tokenizer::from_metadata(&gguf.metadata).unwrap());
    let trie = Arc::new(TokenTrie::new(&tokenizer));
    let schema = weather_schema();
    let grammar = Arc::new(JsonGrammar::from_schema(&schema).unwrap());
    let stop = tokenizer.stop_tokens().to_vec();
    let vocab = tokenizer.vocab_size();
    let mut rng = Xoshiro256StarStar::seed_from_u64(4);
    for walk in 0..20 {
        let mut c = JsonConstraint::new(grammar.clone(), trie.clone(), tokenizer.clone());
        let mut ids = Vec::new();
        loop {
            let mut logits = vec![0.0f32; vocab];
            // random logits: the mask alone must keep the text valid
            logits.iter_mut().for_each(|l| *l = rng.random::<f32>());
            if c.mask(&mut logits, &stop) == Allowed::End {
                break;
            }
            let allowed: Vec<u32> = (0..vocab as u32)
                .filter(|&i| logits[i as usize].is_finite())
                .collect();
            assert!(
                !allowed.is_empty(),
                "walk {walk}: nothing allowed after {ids:?}"
            );
            // stop when allowed, and lean towards structure, so that walks
            // end (inside a string almost every token is allowed)
            let structural: Vec<u32> = allowed
                .iter()
                .copied()
                .filter(|&i| {
                    tokenizer
                        .token_to_piece(i)
                        .unwrap()
                        .iter()
                        .any(|b| b"\"}],:".contains(b))
                })
                .collect();
            let id = match allowed.iter().find(|i| stop.contains(i)) {
                Some(&s) if rng.random_bool(0.7) => s,
                _ if !structural.is_empty() && rng.random_bool(0.5) => {
                    structural[rng.random_range(0..structural.len())]
                }
                _ => allowed[rng.random_range(0..allowed.len())],
            };
            if stop.contains(&id) {
                break;
            }
            assert!(
                c.accept(id),
                "{:?} after {:?}",
                tokenizer.decode(&[id]),
                tokenizer.decode(&ids)
            );
            ids.push(id);
            assert!(ids.len() < 2000, "walk {walk} does not end");
        }
        let text = tokenizer.decode(&ids).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(validates(&schema, &v), "{v}");
    }
}
