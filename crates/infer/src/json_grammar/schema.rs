//! JSON Schema → [`JsonGrammar`]: the schema compiler.
//!
//! [`JsonGrammar::from_schema`] compiles the JSON Schema subset that
//! structured-output APIs use — `type` (object, array, string, number,
//! integer, boolean, null), `properties`, `required`,
//! `additionalProperties`, `items`, `enum`, `const` — into the node table
//! the automaton walks. Keywords that would need more (`pattern`,
//! `minimum`, `$ref`, `anyOf`, ...) are refused with an error naming them,
//! rather than silently not enforced: an output that "matches the schema"
//! must validate. Two choices to know about: an object with `properties`
//! allows no other keys unless `additionalProperties` says so (what strict
//! structured-output modes require anyway), and properties may come in any
//! order.
//!
//! A new keyword goes in three places: `KEYWORDS`, a branch of
//! `compile` that turns it into nodes, and (if no node can say it yet) a
//! new `Node` variant the automaton learns to walk.

use serde_json::Value;

use super::{ANY, ANY_NUMBER, ANY_STRING, BOOLEAN, JsonGrammar, NULL, Node};

/// Why a schema cannot be used for constrained decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported JSON schema at {path}: {reason}")]
pub struct SchemaError {
    pub path: String,
    pub reason: String,
}

impl SchemaError {
    fn at(path: &str, reason: String) -> Self {
        SchemaError {
            path: path.to_string(),
            reason,
        }
    }
}

/// The keywords the compiler understands; any other is refused.
const KEYWORDS: [&str; 13] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    // annotations: they do not constrain the value
    "title",
    "description",
    "default",
    "examples",
    "$schema",
    "strict",
];

impl JsonGrammar {
    /// Values that validate against `schema`.
    pub fn from_schema(schema: &Value) -> Result<Self, SchemaError> {
        let mut grammar = Self::base();
        grammar.root = grammar.compile(schema, "#")?;
        Ok(grammar)
    }

    fn add(&mut self, node: Node) -> u16 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u16
    }

    fn compile(&mut self, schema: &Value, path: &str) -> Result<u16, SchemaError> {
        let err = |reason: String| SchemaError::at(path, reason);
        let obj = match schema {
            Value::Bool(true) => return Ok(ANY),
            Value::Object(obj) => obj,
            _ => return Err(err("a schema must be an object".into())),
        };
        if let Some(key) = obj.keys().find(|k| !KEYWORDS.contains(&k.as_str())) {
            return Err(err(format!("the keyword `{key}` is not supported")));
        }
        if let Some(value) = obj.get("const") {
            return Ok(self.choices(std::slice::from_ref(value)));
        }
        if let Some(values) = obj.get("enum") {
            let values = values
                .as_array()
                .filter(|v| !v.is_empty() && v.len() <= 64)
                .ok_or_else(|| err("`enum` must be a list of 1 to 64 values".into()))?;
            return Ok(self.choices(values));
        }
        let ty = match obj.get("type") {
            None => return Ok(ANY),
            Some(Value::String(t)) => t.as_str(),
            Some(other) => return Err(err(format!("`type` must be one string, got {other}"))),
        };
        match ty {
            "object" => self.object(obj, path),
            "array" => {
                let items = match obj.get("items") {
                    None => ANY,
                    Some(sub) => self.compile(sub, &format!("{path}/items"))?,
                };
                Ok(self.add(Node::Array { items }))
            }
            "string" => Ok(ANY_STRING),
            "number" => Ok(ANY_NUMBER),
            "integer" => Ok(self.add(Node::Number { integer: true })),
            "boolean" => Ok(BOOLEAN),
            "null" => Ok(NULL),
            other => Err(err(format!("unknown type `{other}`"))),
        }
    }

    /// `{"type": "object", "properties", "required", "additionalProperties"}`.
    fn object(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        path: &str,
    ) -> Result<u16, SchemaError> {
        let err = |reason: String| SchemaError::at(path, reason);
        let mut props = Vec::new();
        if let Some(p) = obj.get("properties") {
            let p = p
                .as_object()
                .ok_or_else(|| err("`properties` must be an object".into()))?;
            if p.len() > 64 {
                return Err(err("more than 64 properties".into()));
            }
            for (name, sub) in p {
                let node = self.compile(sub, &format!("{path}/properties/{name}"))?;
                props.push((escaped(name), node));
            }
        }
        let mut required = 0u64;
        for name in obj
            .get("required")
            .and_then(Value::as_array)
            .unwrap_or(&Vec::new())
        {
            let name = name.as_str().map(escaped);
            let i = props.iter().position(|(k, _)| Some(k) == name.as_ref());
            let i = i.ok_or_else(|| {
                err("`required` names a property that is not in `properties`".into())
            })?;
            required |= 1 << i;
        }
        let extra = match obj.get("additionalProperties") {
            // free-form object: any keys
            None if props.is_empty() => Some(ANY),
            None | Some(Value::Bool(false)) => None,
            Some(Value::Bool(true)) => Some(ANY),
            Some(sub) => Some(self.compile(sub, &format!("{path}/additionalProperties"))?),
        };
        Ok(self.add(Node::Object {
            props,
            required,
            extra,
        }))
    }

    /// `enum`/`const`: all strings become a string node with choices,
    /// anything else literal texts.
    fn choices(&mut self, values: &[Value]) -> u16 {
        if values.iter().all(Value::is_string) {
            let choices = values
                .iter()
                .map(|v| escaped(v.as_str().unwrap_or_default()))
                .collect();
            return self.add(Node::String {
                choices: Some(choices),
            });
        }
        let texts = values.iter().map(|v| v.to_string().into_bytes()).collect();
        self.add(Node::Literals(texts))
    }
}

/// A string as its JSON text between the quotes (`a"b` → `a\"b`).
fn escaped(s: &str) -> Vec<u8> {
    let quoted = serde_json::to_string(s).unwrap_or_default().into_bytes();
    quoted[1..quoted.len() - 1].to_vec()
}
