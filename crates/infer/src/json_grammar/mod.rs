//! JSON, one byte at a time: the grammar behind constrained decoding.
//!
//! A model writes JSON a token at a time, and a token is a few bytes. To
//! keep it from ever writing something that does not parse, we need to ask,
//! after every byte, "can this still become valid JSON (of this schema)?".
//! The answer comes in two halves, as in llama.cpp (whose grammar engine is
//! in its core library and whose JSON Schema converter is in `common`):
//!
//! 1. `schema.rs` compiles a JSON Schema into a [`JsonGrammar`]: a small
//!    table of nodes (an object with these properties, an array of that,
//!    a string from this list, ...). It runs once per request.
//! 2. `automaton.rs` walks that table byte by byte: a pushdown automaton
//!    whose stack ([`JsonState`]) holds what is open (`{`, `[`, `"`, a
//!    number) and, on top, what may come next. It runs once per byte of
//!    every candidate token, so it is the part that must be fast.
//!
//! The token mask built on top of the automaton is the sampler stage in
//! [`crate::constrained`].

mod automaton;
mod schema;

pub use automaton::{JsonState, MAX_DEPTH, MAX_WHITESPACE};
pub use schema::SchemaError;

/// A schema (or "any JSON") compiled to a table of nodes: what the schema
/// compiler writes and the automaton reads.
#[derive(Debug, Clone)]
pub struct JsonGrammar {
    nodes: Vec<Node>,
    root: u16,
}

#[derive(Debug, Clone)]
enum Node {
    /// Any JSON value.
    Any,
    /// `props`: (key as it appears between the quotes, value node).
    /// `required`: bit i set if `props[i]` must appear. `extra`: the node
    /// for keys not in `props`, if they are allowed.
    Object {
        props: Vec<(Vec<u8>, u16)>,
        required: u64,
        extra: Option<u16>,
    },
    /// `min..=max` items of node `items` (`max` u16::MAX: no limit).
    Array {
        items: u16,
        min: u16,
        max: u16,
    },
    /// A string; with `choices`, exactly one of them (escaped, no quotes).
    String {
        choices: Option<Vec<Vec<u8>>>,
    },
    Number {
        integer: bool,
    },
    /// Exactly one of these texts (true/false/null, non-string enums).
    Literals(Vec<Vec<u8>>),
    /// One of these nodes (`anyOf`, a list of types, a `$ref`), chosen by
    /// the value's first byte: no two alternatives start with the same byte
    /// (the compiler checks), so the automaton never has to guess.
    Union(Vec<(FirstBytes, u16)>),
}

/// A set of bytes: those a value of some node can start with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FirstBytes([u64; 4]);

impl FirstBytes {
    fn add(&mut self, b: u8) {
        self.0[b as usize / 64] |= 1 << (b % 64);
    }
    fn contains(&self, b: u8) -> bool {
        self.0[b as usize / 64] & (1 << (b % 64)) != 0
    }
    fn union(self, other: FirstBytes) -> FirstBytes {
        FirstBytes(std::array::from_fn(|i| self.0[i] | other.0[i]))
    }
}

// Nodes every grammar has, at fixed places.
const ANY: u16 = 0;
const ANY_OBJECT: u16 = 1;
const ANY_ARRAY: u16 = 2;
const ANY_STRING: u16 = 3;
const ANY_NUMBER: u16 = 4;
const ANY_LITERAL: u16 = 5;
const BOOLEAN: u16 = 6;
const NULL: u16 = 7;

impl JsonGrammar {
    fn base() -> Self {
        let lits = |l: &[&str]| Node::Literals(l.iter().map(|s| s.as_bytes().to_vec()).collect());
        let nodes = vec![
            Node::Any,
            Node::Object {
                props: Vec::new(),
                required: 0,
                extra: Some(ANY),
            },
            Node::Array {
                items: ANY,
                min: 0,
                max: u16::MAX,
            },
            Node::String { choices: None },
            Node::Number { integer: false },
            lits(&["true", "false", "null"]),
            lits(&["true", "false"]),
            lits(&["null"]),
        ];
        JsonGrammar { nodes, root: ANY }
    }

    /// Any JSON object (OpenAI's `response_format: {"type": "json_object"}`).
    pub fn any_object() -> Self {
        JsonGrammar {
            root: ANY_OBJECT,
            ..Self::base()
        }
    }

    /// Any JSON value.
    pub fn any_value() -> Self {
        Self::base()
    }
}

impl crate::constrained::ByteAutomaton for JsonGrammar {
    type State = JsonState;

    fn start(&self) -> JsonState {
        JsonGrammar::start(self)
    }
    fn advance(&self, state: &mut JsonState, byte: u8) -> bool {
        state.advance(self, byte)
    }
    fn is_complete(&self, state: &JsonState) -> bool {
        state.is_complete(self)
    }
}

/// Whether `text` is accepted from the start to a complete value.
pub fn accepts(grammar: &JsonGrammar, text: &[u8]) -> bool {
    let mut state = grammar.start();
    text.iter().all(|&b| state.advance(grammar, b)) && state.is_complete(grammar)
}
