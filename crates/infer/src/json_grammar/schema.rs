//! JSON Schema → [`JsonGrammar`]: the schema compiler.
//!
//! [`JsonGrammar::from_schema`] compiles the JSON Schema subset that
//! structured-output APIs and Pydantic use — `type` (one or a list: object,
//! array, string, number, integer, boolean, null), `properties`,
//! `required`, `additionalProperties`, `items`, `minItems`, `maxItems`,
//! `enum` and `const` (of any types), `anyOf`/`oneOf`, `allOf` of one
//! schema, and `$ref` into `$defs`/`definitions` (recursive ones too: the
//! automaton's stack bounds the depth) — into the node table the automaton
//! walks. Keywords that would need more (`pattern`, `format`, `minimum`,
//! `minLength`, ...) are refused with an error naming them, rather than
//! silently not enforced: an output that "matches the schema" must validate.
//!
//! Choices to know about:
//! - an object with `properties` allows no other keys unless
//!   `additionalProperties` says so (what strict structured-output modes
//!   require anyway), and properties may come in any order;
//! - the alternatives of `anyOf` (and of a list of types) must differ in
//!   their first byte — `{` an object, `[` an array, `"` a string, a digit
//!   a number, `n` null — so that the automaton knows at once which one it
//!   is in. Nullable fields (`anyOf: [{...}, {"type": "null"}]`) and unions
//!   of different types are that; two kinds of numbers merge into one, and
//!   so do strings and literals; two object alternatives are refused;
//! - `integer` is written without a fraction or exponent (`2`, not `2.0`),
//!   although JSON Schema also counts `2.0` as an integer.
//!
//! A new keyword goes in three places: `KEYWORDS`, a branch of
//! `compile` that turns it into nodes, and (if no node can say it yet) a
//! new `Node` variant the automaton learns to walk.

use std::collections::HashMap;

use serde_json::Value;

use super::{ANY, ANY_NUMBER, ANY_STRING, BOOLEAN, FirstBytes, JsonGrammar, NULL, Node};

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

/// Keywords that only annotate: they never constrain the value.
const ANNOTATIONS: [&str; 9] = [
    "title",
    "description",
    "default",
    "examples",
    "$schema",
    "$id",
    // OpenAI's strict mode marks it; the grammar is strict anyway
    "strict",
    "$defs",
    "definitions",
];

/// The keywords the compiler understands (besides the annotations); any
/// other is refused.
const KEYWORDS: [&str; 13] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "allOf",
    "$ref",
];

/// Why a keyword is refused, for the ones people ask for most.
fn refusal(key: &str) -> String {
    let why = match key {
        "pattern" => "regular expressions on strings cannot be enforced by this grammar",
        "format" => "string formats (date-time, email, ...) cannot be enforced by this grammar",
        "minLength" | "maxLength" => "string lengths cannot be enforced by this grammar",
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf" => {
            "number ranges cannot be enforced by this grammar"
        }
        _ => return format!("the keyword `{key}` is not supported"),
    };
    format!("the keyword `{key}` is not supported: {why}")
}

impl JsonGrammar {
    /// Values that validate against `schema`.
    pub fn from_schema(schema: &Value) -> Result<Self, SchemaError> {
        let mut compiler = Compiler {
            grammar: Self::base(),
            root: schema,
            refs: HashMap::new(),
        };
        let root = compiler.compile(schema, "#")?;
        compiler.finish()?;
        compiler.grammar.root = root;
        Ok(compiler.grammar)
    }
}

/// The grammar being built, the whole schema (for `$ref`), and the node of
/// each `$ref` target met so far.
struct Compiler<'s> {
    grammar: JsonGrammar,
    root: &'s Value,
    /// `$ref` text → its node.
    refs: HashMap<String, u16>,
}

impl Compiler<'_> {
    fn add(&mut self, node: Node) -> u16 {
        self.grammar.nodes.push(node);
        (self.grammar.nodes.len() - 1) as u16
    }

    fn compile(&mut self, schema: &Value, path: &str) -> Result<u16, SchemaError> {
        let err = |reason: String| SchemaError::at(path, reason);
        let obj = match schema {
            Value::Bool(true) => return Ok(ANY),
            Value::Object(obj) => obj,
            _ => return Err(err("a schema must be an object".into())),
        };
        let known =
            |k: &String| KEYWORDS.contains(&k.as_str()) || ANNOTATIONS.contains(&k.as_str());
        if let Some(key) = obj.keys().find(|k| !known(k)) {
            return Err(err(refusal(key)));
        }
        // the combinators take the whole schema: other constraints next to
        // them would have to hold too, which the grammar cannot combine
        for keyword in ["$ref", "anyOf", "oneOf", "allOf"] {
            if obj.contains_key(keyword) {
                let other = obj
                    .keys()
                    .find(|k| *k != keyword && !ANNOTATIONS.contains(&k.as_str()));
                if let Some(other) = other {
                    return Err(err(format!(
                        "`{other}` next to `{keyword}` is not supported"
                    )));
                }
            }
        }
        if let Some(target) = obj.get("$ref") {
            return self.reference(target, path);
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(options) = obj.get(keyword) {
                let options = options
                    .as_array()
                    .filter(|o| !o.is_empty())
                    .ok_or_else(|| err(format!("`{keyword}` must be a non-empty list")))?;
                let mut nodes = Vec::new();
                for (i, option) in options.iter().enumerate() {
                    nodes.push(self.compile(option, &format!("{path}/{keyword}/{i}"))?);
                }
                // oneOf: exactly one may match, so no two may merge
                return Ok(self.union(nodes, keyword == "anyOf"));
            }
        }
        if let Some(all) = obj.get("allOf") {
            return match all.as_array().map(Vec::as_slice) {
                Some([one]) => self.compile(one, &format!("{path}/allOf/0")),
                _ => Err(err(
                    "`allOf` of more than one schema is not supported".into()
                )),
            };
        }
        let values = match (obj.get("const"), obj.get("enum")) {
            // both: the const must be one of the enum's values too
            (Some(value), Some(Value::Array(values))) if !values.contains(value) => {
                return Err(err("`const` is not one of the `enum` values".into()));
            }
            (Some(value), _) => Some(std::slice::from_ref(value)),
            (None, Some(values)) => Some(
                values
                    .as_array()
                    .filter(|v| !v.is_empty() && v.len() <= 64)
                    .ok_or_else(|| err("`enum` must be a list of 1 to 64 values".into()))?
                    .as_slice(),
            ),
            (None, None) => None,
        };
        if let Some(values) = values {
            // with a `type` too, only the values of that type are valid
            let types = match obj.get("type") {
                None => None,
                Some(Value::String(t)) => Some(vec![t.as_str()]),
                Some(Value::Array(ts)) => Some(ts.iter().filter_map(Value::as_str).collect()),
                Some(other) => {
                    return Err(err(format!(
                        "`type` must be a name or a list of names, got {other}"
                    )));
                }
            };
            let kept: Vec<Value> = (values.iter())
                .filter(|v| {
                    types
                        .as_ref()
                        .is_none_or(|ts| ts.iter().any(|t| has_type(v, t)))
                })
                .cloned()
                .collect();
            if kept.is_empty() {
                return Err(err(
                    "no value of `enum`/`const` has the schema's `type`".into()
                ));
            }
            return Ok(self.choices(&kept));
        }
        match obj.get("type") {
            None => Ok(ANY),
            Some(Value::String(t)) => self.typed(obj, t, path),
            // a list of types: one of them
            Some(Value::Array(types)) if !types.is_empty() => {
                let mut nodes = Vec::new();
                for t in types {
                    let t = t
                        .as_str()
                        .ok_or_else(|| err(format!("`type` lists names, got {t}")))?;
                    nodes.push(self.typed(obj, t, path)?);
                }
                Ok(self.union(nodes, true))
            }
            Some(other) => Err(err(format!(
                "`type` must be a name or a list of names, got {other}"
            ))),
        }
    }

    /// A value of one `type`, with that type's keywords from `obj`.
    fn typed(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        ty: &str,
        path: &str,
    ) -> Result<u16, SchemaError> {
        let err = |reason: String| SchemaError::at(path, reason);
        match ty {
            "object" => self.object(obj, path),
            "array" => {
                let items = match obj.get("items") {
                    None => ANY,
                    Some(sub) => self.compile(sub, &format!("{path}/items"))?,
                };
                let bound = |key: &str, default: u16| match obj.get(key) {
                    None => Ok(default),
                    Some(v) => v
                        .as_u64()
                        .filter(|&n| n < u64::from(u16::MAX))
                        .map(|n| n as u16)
                        .ok_or_else(|| err(format!("`{key}` must be an integer from 0 to 65534"))),
                };
                let (min, max) = (bound("minItems", 0)?, bound("maxItems", u16::MAX)?);
                if min > max {
                    return Err(err("`minItems` is larger than `maxItems`".into()));
                }
                Ok(self.add(Node::Array { items, min, max }))
            }
            "string" => Ok(ANY_STRING),
            "number" => Ok(ANY_NUMBER),
            "integer" => Ok(self.add(Node::Number { integer: true })),
            "boolean" => Ok(BOOLEAN),
            "null" => Ok(NULL),
            other => Err(err(format!("unknown type `{other}`"))),
        }
    }

    /// `$ref`: a JSON pointer into this schema (`#/$defs/Name`, `#`). Each
    /// target compiles once, behind a one-alternative union made *before*
    /// it: a reference met while its target is still being compiled
    /// (recursion) finds that node, filled in afterwards.
    fn reference(&mut self, target: &Value, path: &str) -> Result<u16, SchemaError> {
        let err = |reason: String| SchemaError::at(path, reason);
        let text = target
            .as_str()
            .ok_or_else(|| err("`$ref` must be a string".into()))?;
        if let Some(&node) = self.refs.get(text) {
            return Ok(node);
        }
        let pointer = text.strip_prefix('#').ok_or_else(|| {
            err(format!(
                "only references into this schema (`#...`) are supported, got `{text}`"
            ))
        })?;
        let schema = self
            .root
            .pointer(pointer)
            .ok_or_else(|| err(format!("`$ref` `{text}` points at nothing")))?;
        let alias = self.add(Node::Union(Vec::new()));
        self.refs.insert(text.to_string(), alias);
        let node = self.compile(schema, text)?;
        self.grammar.nodes[alias as usize] = Node::Union(vec![(FirstBytes::default(), node)]);
        Ok(alias)
    }

    /// One of `nodes`. With `merge` (`anyOf`, a list of types), two
    /// alternatives of one kind become one (integer and number → number;
    /// strings; literals); `oneOf` keeps them apart, and [`Compiler::finish`]
    /// then refuses any two that start alike.
    fn union(&mut self, nodes: Vec<u16>, merge: bool) -> u16 {
        let mut options: Vec<u16> = Vec::new();
        for node in nodes {
            let same_kind = (options
                .iter()
                .position(|&o| self.merge(o, node, false).is_some()))
            .filter(|_| merge);
            match same_kind {
                Some(i) => options[i] = self.merge(options[i], node, true).unwrap_or(node),
                None => options.push(node),
            }
        }
        if let [only] = options.as_slice() {
            return *only;
        }
        let options = options.into_iter().map(|o| (FirstBytes::default(), o));
        self.add(Node::Union(options.collect()))
    }

    /// Two alternatives of one kind as one node (added only with `add`);
    /// `None` if they are of different kinds.
    fn merge(&mut self, a: u16, b: u16, add: bool) -> Option<u16> {
        if a == ANY || b == ANY {
            return Some(ANY);
        }
        let nodes = &self.grammar.nodes;
        let merged = match (&nodes[a as usize], &nodes[b as usize]) {
            (Node::Number { integer: x }, Node::Number { integer: y }) => {
                Node::Number { integer: *x && *y }
            }
            (Node::String { choices: x }, Node::String { choices: y }) => Node::String {
                choices: match (x, y) {
                    (Some(x), Some(y)) if x.len() + y.len() <= 64 => {
                        Some(x.iter().chain(y).cloned().collect())
                    }
                    (Some(_), Some(_)) => return None,
                    _ => None,
                },
            },
            (Node::Literals(x), Node::Literals(y)) if x.len() + y.len() <= 64 => {
                Node::Literals(x.iter().chain(y).cloned().collect())
            }
            _ => return None,
        };
        Some(if add { self.add(merged) } else { a })
    }

    /// Fills in the first bytes of every union's alternatives, and refuses
    /// a union whose alternatives start alike (the automaton could not tell
    /// which one it is in) or a reference to itself before any byte.
    fn finish(&mut self) -> Result<(), SchemaError> {
        let mut known = HashMap::new();
        for node in 0..self.grammar.nodes.len() as u16 {
            let Node::Union(options) = &self.grammar.nodes[node as usize] else {
                continue;
            };
            let mut filled = Vec::new();
            let mut seen = FirstBytes::default();
            for &(_, option) in &options.clone() {
                let first = self.first_bytes(option, &mut known, &mut Vec::new())?;
                if let Some(byte) = (0..=255u8).find(|&b| first.contains(b) && seen.contains(b)) {
                    return Err(SchemaError::at(
                        "#",
                        format!(
                            "two alternatives of an `anyOf`/`oneOf` (or of a list of types) both \
                             start with `{}`; they must differ in their first byte (an object, \
                             an array, a string, a number, true/false, null)",
                            byte as char
                        ),
                    ));
                }
                seen = seen.union(first);
                filled.push((first, option));
            }
            self.grammar.nodes[node as usize] = Node::Union(filled);
        }
        Ok(())
    }

    /// The bytes a value of `node` can start with.
    fn first_bytes(
        &self,
        node: u16,
        known: &mut HashMap<u16, FirstBytes>,
        visiting: &mut Vec<u16>,
    ) -> Result<FirstBytes, SchemaError> {
        if let Some(&first) = known.get(&node) {
            return Ok(first);
        }
        let mut set = FirstBytes::default();
        let mut add = |bytes: &[u8]| bytes.iter().for_each(|&b| set.add(b));
        match &self.grammar.nodes[node as usize] {
            Node::Any => add(b"{[\"-0123456789tfn"),
            Node::Object { .. } => add(b"{"),
            Node::Array { .. } => add(b"["),
            Node::String { .. } => add(b"\""),
            Node::Number { .. } => add(b"-0123456789"),
            Node::Literals(texts) => texts.iter().for_each(|t| add(&t[..1])),
            Node::Union(options) => {
                if visiting.contains(&node) {
                    let reason = "a `$ref` that refers to itself before any byte is written \
                                  is not supported";
                    return Err(SchemaError::at("#", reason.into()));
                }
                visiting.push(node);
                for &(_, option) in options {
                    set = set.union(self.first_bytes(option, known, visiting)?);
                }
                visiting.pop();
            }
        }
        known.insert(node, set);
        Ok(set)
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

/// JSON Schema's `type` of a value (`integer`: a number without a fraction).
fn has_type(v: &Value, ty: &str) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.as_f64().is_some_and(|x| x.fract() == 0.0),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// A string as its JSON text between the quotes (`a"b` → `a\"b`).
fn escaped(s: &str) -> Vec<u8> {
    let quoted = serde_json::to_string(s).unwrap_or_default().into_bytes();
    quoted[1..quoted.len() - 1].to_vec()
}
