//! Chapter 25 exercise: validate the arguments of a tool call.
//!
//! A small model asked to call `get_weather(city, unit)` writes
//! `{"town": "Paris"}`, `{"city": 3}` or `{"city": "Paris", "unit":
//! "kelvin"}`. Before the agent runs a tool it checks the arguments against
//! the tool's JSON Schema, and when they are wrong it tells the model *why*,
//! so that the retry has a chance. Write that check for a tiny subset:
//!
//! - `{"enum": [..]}`: the value is one of the listed values;
//! - `{"type": "string" | "number" | "integer" | "boolean"}`; an integer is
//!   a number with no fractional part (`2.0` is one, `2.5` is not);
//! - `{"type": "object", "properties": {..}, "required": [..]}`: every
//!   required key is present, every key is one of `properties` (no others),
//!   and each value validates against its property's schema.
//!
//! A schema with neither `enum` nor `type` allows anything. The error is a
//! short sentence; the tests only look at whether it names the offending key.
//!
//! Check your work with `./check.sh ch25-validate-args` (from `exercises/`).
//! The tests compare your answer with `locallm_agent::validate` on many
//! (schema, value) pairs.

use serde_json::Value;

/// `Ok(())` if `value` validates against `schema`; otherwise a message that
/// names the key at fault (for an object's property).
pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return match options.contains(value) {
            true => Ok(()),
            false => Err(format!("{value} is not one of {options:?}")),
        };
    }
    let Some(ty) = schema.get("type").and_then(Value::as_str) else {
        return Ok(());
    };
    let ok = match ty {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|x| x.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        _ => false,
    };
    if !ok {
        return Err(format!("{value} is not a {ty}"));
    }
    let Some(obj) = value.as_object() else {
        return Ok(());
    };
    let props = schema.get("properties").and_then(Value::as_object);
    let required = schema.get("required").and_then(Value::as_array);
    for key in required.into_iter().flatten().filter_map(Value::as_str) {
        if !obj.contains_key(key) {
            return Err(format!("`{key}` is required"));
        }
    }
    for (key, v) in obj {
        let Some(sub) = props.and_then(|p| p.get(key)) else {
            return Err(format!("`{key}` is not a known property"));
        };
        validate(sub, v).map_err(|e| format!("`{key}`: {e}"))?;
    }
    Ok(())
}
