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
    // TODO: the checks the doc above lists, in its order; an object's
    //       properties are values with schemas of their own.
    let _ = (schema, value);
    todo!("check the value against the schema")
}
