//! Checking a parsed JSON value against a schema, with a reason when it fails.
//!
//! The grammar in [`locallm_infer::json_grammar`] answers "can these bytes still
//! become valid?" — yes or no, one byte at a time, which is what a token mask
//! needs. An agent that got a call the model wrote *without* a mask needs
//! something else: which argument is wrong, and why, in words it can feed
//! back to the model. This is that check, for the same schema subset (`type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`,
//! `const`) with the same choices: an object with `properties` takes no other
//! keys unless `additionalProperties` says so. Schemas outside the subset
//! are refused earlier, by [`locallm_infer::JsonGrammar::from_schema`].

use serde_json::Value;

/// Why a value does not validate: where (a JSON pointer, `""` for the
/// root) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", if path.is_empty() { String::new() } else { format!("`{path}`: ") })]
pub struct ValidationError {
    pub path: String,
    pub reason: String,
}

// ANCHOR: validate
/// `Ok` if `value` validates against `schema`; else the first problem.
pub fn validate(schema: &Value, value: &Value) -> Result<(), ValidationError> {
    check(schema, value, "")
}

fn check(schema: &Value, v: &Value, path: &str) -> Result<(), ValidationError> {
    let fail = |reason: String| {
        Err(ValidationError {
            path: path.to_string(),
            reason,
        })
    };
    let Some(schema) = schema.as_object() else {
        return Ok(()); // `true`, the schema that allows anything
    };
    if let Some(c) = schema.get("const") {
        return if v == c {
            Ok(())
        } else {
            fail(format!("must be {c}"))
        };
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if options.contains(v) {
            return Ok(());
        }
        let list: Vec<String> = options.iter().map(Value::to_string).collect();
        return fail(format!("must be one of {}, not {v}", list.join(", ")));
    }
    let Some(ty) = schema.get("type").and_then(Value::as_str) else {
        return Ok(());
    };
    let ok = match ty {
        "string" => v.is_string(),
        // JSON Schema: an integer is a number with no fractional part
        "integer" => v.as_f64().is_some_and(|x| x.fract() == 0.0),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    };
    if !ok {
        return fail(format!("must be {} {ty}, not {v}", article(ty)));
    }
    if let (Some(items), Some(array)) = (schema.get("items"), v.as_array()) {
        for (i, x) in array.iter().enumerate() {
            check(items, x, &format!("{path}/{i}"))?;
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        let required = schema.get("required").and_then(Value::as_array);
        for name in required.into_iter().flatten().filter_map(Value::as_str) {
            if !obj.contains_key(name) {
                return fail(format!("the required property `{name}` is missing"));
            }
        }
        // keys not in `properties`: allowed by default only when there are none
        let extra = match schema.get("additionalProperties") {
            None if props.is_none_or(|p| p.is_empty()) => Some(&Value::Bool(true)),
            None | Some(Value::Bool(false)) => None,
            Some(sub) => Some(sub),
        };
        for (key, x) in obj {
            let sub = match props.and_then(|p| p.get(key)) {
                Some(sub) => sub,
                None => match extra {
                    Some(sub) => sub,
                    None => return fail(format!("unknown property `{key}`")),
                },
            };
            check(sub, x, &format!("{path}/{key}"))?;
        }
    }
    Ok(())
}
// ANCHOR_END: validate

fn article(ty: &str) -> &'static str {
    if ty.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use locallm_infer::json_grammar::{JsonGrammar, accepts};
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "city": {"type": "string"},
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}}},
            "required": ["city"]})
    }

    #[test]
    fn errors_name_the_argument_and_the_rule() {
        let s = schema();
        let err = |v: Value| validate(&s, &v).unwrap_err().to_string();
        assert_eq!(
            err(json!({"unit": "celsius"})),
            "the required property `city` is missing"
        );
        assert_eq!(err(json!({"city": 3})), "`/city`: must be a string, not 3");
        assert_eq!(
            err(json!({"city": "Oslo", "unit": "kelvin"})),
            "`/unit`: must be one of \"celsius\", \"fahrenheit\", not \"kelvin\""
        );
        assert_eq!(
            err(json!({"city": "Oslo", "days": 1.5})),
            "`/days`: must be an integer, not 1.5"
        );
        assert_eq!(
            err(json!({"city": "Oslo", "tags": ["a", 1]})),
            "`/tags/1`: must be a string, not 1"
        );
        assert_eq!(
            err(json!({"city": "Oslo", "country": "NO"})),
            "unknown property `country`"
        );
        assert!(validate(&s, &json!({"city": "Oslo", "days": 3, "tags": []})).is_ok());
    }

    /// The validator and the grammar agree on every value that serde
    /// writes (the grammar reads text, so this compares the two on the
    /// same subset).
    #[test]
    fn agrees_with_the_grammar() {
        let s = schema();
        let g = JsonGrammar::from_schema(&s).unwrap();
        let values = [
            json!({"city": "Oslo"}),
            json!({"city": "Oslo", "unit": "celsius", "days": 2, "tags": ["x"]}),
            json!({}),
            json!({"city": null}),
            json!({"city": "Oslo", "unit": "Celsius"}),
            json!({"city": "Oslo", "days": 2.5}),
            json!({"city": "Oslo", "days": "2"}),
            json!({"city": "Oslo", "tags": "x"}),
            json!({"city": "Oslo", "tags": [1]}),
            json!({"city": "Oslo", "extra": 1}),
            json!(["Oslo"]),
            json!("Oslo"),
        ];
        for v in values {
            let text = serde_json::to_string(&v).unwrap();
            assert_eq!(
                validate(&s, &v).is_ok(),
                accepts(&g, text.as_bytes()),
                "{text}"
            );
        }
    }
}
