//! The automaton: a [`JsonGrammar`] walked one byte at a time.
//!
//! [`JsonState`] is the pushdown stack, in a fixed-size array so that
//! copying it is a `memcpy` — the token mask (in [`crate::constrained`])
//! copies it once per vocabulary-trie node. [`JsonState::advance`] feeds one
//! byte and says whether valid text can still continue with it.

use super::{ANY, ANY_ARRAY, ANY_LITERAL, ANY_NUMBER, ANY_OBJECT, ANY_STRING, JsonGrammar, Node};

/// Deepest nesting the automaton tracks (objects, arrays, open strings).
pub const MAX_DEPTH: usize = 16;
/// Longest run of whitespace allowed between tokens of JSON: small models
/// otherwise fall into emitting newlines forever.
pub const MAX_WHITESPACE: u8 = 24;
/// Longest number, in bytes.
const MAX_NUMBER: u16 = 32;

impl JsonGrammar {
    /// The state before the first byte.
    pub fn start(&self) -> JsonState {
        let mut state = JsonState {
            stack: [Frame::Value(0); MAX_DEPTH],
            depth: 0,
            whitespace: 0,
        };
        state.push(Frame::Value(self.root));
        state
    }
}

/// Where the automaton is: what is open, and what may come next.
#[derive(Debug, Clone, Copy)]
pub struct JsonState {
    stack: [Frame; MAX_DEPTH],
    depth: u8,
    whitespace: u8,
}

#[derive(Debug, Clone, Copy)]
enum Frame {
    /// A value of this node comes next (whitespace first is fine).
    Value(u16),
    Object {
        node: u16,
        at: ObjectAt,
        /// Bit i: property i was written.
        seen: u64,
        /// The property whose key was just read (`u16::MAX`: an extra key).
        current: u16,
    },
    Array {
        node: u16,
        at: ArrayAt,
        /// Items started so far.
        count: u16,
    },
    /// Inside quotes. A string with choices (an enum; a key, whose choices
    /// are the properties of object `node`) keeps in `cands` the choices the
    /// bytes so far still match; `free` allows any other string too (a key
    /// of an object with additional properties, a plain string).
    String {
        node: u16,
        key: bool,
        pos: u16,
        cands: u64,
        free: bool,
        escape: Escape,
        /// UTF-8 continuation bytes still expected.
        utf8: u8,
    },
    Number {
        at: NumberAt,
        integer: bool,
        len: u16,
    },
    Literal {
        node: u16,
        pos: u16,
        cands: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectAt {
    Open,
    Key,
    Colon,
    Value,
    Comma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayAt {
    Open,
    Item,
    Comma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Backslash,
    /// hex digits of `\uXXXX` still to come
    Hex(u8),
    /// `\uD`: the next digit must keep it below the surrogates
    HexD,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberAt {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ESign,
    Exp,
    Exp2,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\t' | b'\r')
}

fn all_bits(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

impl JsonState {
    fn push(&mut self, frame: Frame) -> bool {
        if self.depth as usize == MAX_DEPTH {
            return false;
        }
        self.stack[self.depth as usize] = frame;
        self.depth += 1;
        true
    }

    fn top(&mut self) -> Option<&mut Frame> {
        match self.depth {
            0 => None,
            d => Some(&mut self.stack[d as usize - 1]),
        }
    }

    /// The whole value is written; only the end of the answer may follow.
    pub fn is_done(&self) -> bool {
        self.depth == 0
    }

    /// The bytes so far are a complete value (a number may still go on:
    /// `12` could become `123`).
    pub fn is_complete(&self, grammar: &JsonGrammar) -> bool {
        match self.depth {
            0 => true,
            1 => match self.stack[0] {
                Frame::Number { at, .. } => number_complete(at),
                Frame::Literal { node, pos, cands } => literal_exact(grammar, node, pos, cands),
                _ => false,
            },
            _ => false,
        }
    }

    // ANCHOR: advance
    /// Feeds one byte; false (and the state is then unusable) if no valid
    /// text continues with it.
    pub fn advance(&mut self, grammar: &JsonGrammar, b: u8) -> bool {
        if !is_ws(b) {
            self.whitespace = 0;
        }
        // a number or literal ends at the first byte that cannot extend it:
        // close it, then offer that byte to what encloses it
        loop {
            let Some(&mut top) = self.top() else {
                return false; // the value is complete: nothing may follow
            };
            if is_ws(b) && self.whitespace_allowed() {
                self.whitespace += 1;
                return self.whitespace <= MAX_WHITESPACE;
            }
            match self.step(grammar, top, b) {
                Step::Ok => return true,
                Step::Reject => return false,
                Step::CloseAndRetry => {
                    self.depth -= 1;
                    self.finished_value();
                }
            }
        }
    }
    // ANCHOR_END: advance

    /// Whitespace is allowed between the tokens of JSON, never inside a
    /// string, number or literal, nor after the whole value.
    fn whitespace_allowed(&self) -> bool {
        match self.depth {
            0 => false,
            d => match self.stack[d as usize - 1] {
                Frame::Value(_) => true,
                Frame::Object { at, .. } => at != ObjectAt::Key,
                Frame::Array { .. } => true,
                // a number or literal is closed by it first (`advance`)
                Frame::String { .. } | Frame::Number { .. } | Frame::Literal { .. } => false,
            },
        }
    }

    /// A value just closed (and was popped): tell what encloses it.
    fn finished_value(&mut self) {
        match self.top() {
            Some(Frame::Object {
                at, seen, current, ..
            }) => {
                if *current != u16::MAX {
                    *seen |= 1 << *current;
                }
                *at = ObjectAt::Value;
            }
            Some(Frame::Array { at, .. }) => *at = ArrayAt::Item,
            _ => {}
        }
    }

    fn step(&mut self, g: &JsonGrammar, top: Frame, b: u8) -> Step {
        let d = self.depth as usize - 1;
        match top {
            Frame::Value(node) => self.start_value(g, node, b),
            Frame::Object {
                node,
                at,
                seen,
                current,
            } => {
                let Node::Object {
                    props,
                    required,
                    extra,
                } = &g.nodes[node as usize]
                else {
                    return Step::Reject;
                };
                let unseen = all_bits(props.len()) & !seen;
                let more_keys = unseen != 0 || extra.is_some();
                let may_close = required & !seen == 0;
                let set_at = |s: &mut Self, at| {
                    if let Frame::Object { at: a, .. } = &mut s.stack[d] {
                        *a = at;
                    }
                };
                match (at, b) {
                    (ObjectAt::Open, b'}') | (ObjectAt::Value, b'}') if may_close => {
                        self.depth -= 1;
                        self.finished_value();
                        Step::Ok
                    }
                    (ObjectAt::Open, b'"') | (ObjectAt::Comma, b'"') if more_keys => {
                        set_at(self, ObjectAt::Key);
                        ok(self.push(Frame::String {
                            node,
                            key: true,
                            pos: 0,
                            cands: unseen,
                            free: extra.is_some(),
                            escape: Escape::None,
                            utf8: 0,
                        }))
                    }
                    (ObjectAt::Value, b',') if more_keys => {
                        set_at(self, ObjectAt::Comma);
                        Step::Ok
                    }
                    (ObjectAt::Colon, b':') => {
                        let value = match current {
                            u16::MAX => extra.unwrap_or(ANY),
                            i => props[i as usize].1,
                        };
                        set_at(self, ObjectAt::Value);
                        ok(self.push(Frame::Value(value)))
                    }
                    _ => Step::Reject,
                }
            }
            Frame::Array { node, at, count } => {
                let Node::Array { items, min, max } = g.nodes[node as usize] else {
                    return Step::Reject;
                };
                let set = |s: &mut Self, at, count| {
                    if let Frame::Array {
                        at: a, count: c, ..
                    } = &mut s.stack[d]
                    {
                        (*a, *c) = (at, count);
                    }
                };
                match (at, b) {
                    (ArrayAt::Open | ArrayAt::Item, b']') if count >= min => {
                        self.depth -= 1;
                        self.finished_value();
                        Step::Ok
                    }
                    (ArrayAt::Item, b',') if count < max => {
                        set(self, ArrayAt::Comma, count);
                        Step::Ok
                    }
                    (ArrayAt::Open, _) if max == 0 => Step::Reject,
                    (ArrayAt::Open | ArrayAt::Comma, _) if b != b']' => {
                        set(self, ArrayAt::Item, count + 1);
                        if !self.push(Frame::Value(items)) {
                            return Step::Reject;
                        }
                        self.start_value(g, items, b)
                    }
                    _ => Step::Reject,
                }
            }
            Frame::String { .. } => self.string_byte(g, d, b),
            Frame::Number { at, integer, len } => {
                let next = match (at, b) {
                    (NumberAt::Minus, b'0') => Some(NumberAt::Zero),
                    (NumberAt::Minus, b'1'..=b'9') => Some(NumberAt::Int),
                    (NumberAt::Int, b'0'..=b'9') => Some(NumberAt::Int),
                    (NumberAt::Zero | NumberAt::Int, b'.') if !integer => Some(NumberAt::Dot),
                    (NumberAt::Zero | NumberAt::Int | NumberAt::Frac, b'e' | b'E') if !integer => {
                        Some(NumberAt::E)
                    }
                    (NumberAt::Dot | NumberAt::Frac, b'0'..=b'9') => Some(NumberAt::Frac),
                    (NumberAt::E, b'+' | b'-') => Some(NumberAt::ESign),
                    (NumberAt::E | NumberAt::ESign, b'0'..=b'9') => Some(NumberAt::Exp),
                    // two exponent digits at most: `1e999` is valid JSON but
                    // no parser turns it into a finite number
                    (NumberAt::Exp, b'0'..=b'9') => Some(NumberAt::Exp2),
                    _ => None,
                };
                match next {
                    Some(at) if len < MAX_NUMBER => {
                        self.stack[d] = Frame::Number {
                            at,
                            integer,
                            len: len + 1,
                        };
                        Step::Ok
                    }
                    None if number_complete(at) => Step::CloseAndRetry,
                    _ => Step::Reject,
                }
            }
            Frame::Literal { node, pos, cands } => {
                let Node::Literals(texts) = &g.nodes[node as usize] else {
                    return Step::Reject;
                };
                let next = matching(texts, cands, pos, b);
                if next != 0 {
                    self.stack[d] = Frame::Literal {
                        node,
                        pos: pos + 1,
                        cands: next,
                    };
                    // nothing longer can follow: the literal is closed now
                    if texts_all_end(texts, next, pos + 1) {
                        self.depth -= 1;
                        self.finished_value();
                    }
                    Step::Ok
                } else if literal_exact(g, node, pos, cands) {
                    Step::CloseAndRetry
                } else {
                    Step::Reject
                }
            }
        }
    }

    /// The first byte of a value of `node` replaces the `Value` frame by
    /// the frame of what it opens.
    fn start_value(&mut self, g: &JsonGrammar, node: u16, b: u8) -> Step {
        // a union: the one alternative that can start with this byte
        let mut node = node;
        while let Node::Union(options) = &g.nodes[node as usize] {
            match options.iter().find(|(first, _)| first.contains(b)) {
                Some(&(_, option)) => node = option,
                None => return Step::Reject,
            }
        }
        let node = match (&g.nodes[node as usize], b) {
            // "any" is decided by its first byte
            (Node::Any, b'{') => ANY_OBJECT,
            (Node::Any, b'[') => ANY_ARRAY,
            (Node::Any, b'"') => ANY_STRING,
            (Node::Any, b'-' | b'0'..=b'9') => ANY_NUMBER,
            (Node::Any, b't' | b'f' | b'n') => ANY_LITERAL,
            (Node::Any, _) => return Step::Reject,
            _ => node,
        };
        let d = self.depth as usize - 1;
        let frame = match (&g.nodes[node as usize], b) {
            (Node::Object { .. }, b'{') => Frame::Object {
                node,
                at: ObjectAt::Open,
                seen: 0,
                current: u16::MAX,
            },
            (Node::Array { .. }, b'[') => Frame::Array {
                node,
                at: ArrayAt::Open,
                count: 0,
            },
            (Node::String { choices }, b'"') => Frame::String {
                node,
                key: false,
                pos: 0,
                cands: choices.as_ref().map_or(0, |c| all_bits(c.len())),
                free: choices.is_none(),
                escape: Escape::None,
                utf8: 0,
            },
            (Node::Number { integer }, b'-') => Frame::Number {
                at: NumberAt::Minus,
                integer: *integer,
                len: 1,
            },
            (Node::Number { integer }, b'0'..=b'9') => Frame::Number {
                at: if b == b'0' {
                    NumberAt::Zero
                } else {
                    NumberAt::Int
                },
                integer: *integer,
                len: 1,
            },
            (Node::Literals(texts), _) => {
                self.stack[d] = Frame::Literal {
                    node,
                    pos: 0,
                    cands: all_bits(texts.len()),
                };
                let top = self.stack[d];
                return self.step(g, top, b);
            }
            _ => return Step::Reject,
        };
        self.stack[d] = frame;
        Step::Ok
    }

    /// One byte inside quotes.
    fn string_byte(&mut self, g: &JsonGrammar, d: usize, b: u8) -> Step {
        let Frame::String {
            node,
            key,
            pos,
            cands,
            free,
            escape,
            utf8,
        } = self.stack[d]
        else {
            return Step::Reject;
        };
        // every string obeys JSON's rules (escapes, no control bytes,
        // valid UTF-8); one with choices must also be one of them
        let Some((escape, utf8, close)) = string_automaton(escape, utf8, b) else {
            return Step::Reject;
        };
        let choice = |i: usize| choice_text(g, node, key, i);
        if close {
            let exact = (0..64)
                .map_while(|i| choice(i).map(|c| (i, c)))
                .find(|&(i, c)| cands & (1 << i) != 0 && c.len() == pos as usize);
            let which = match exact {
                Some((i, _)) => i as u16,
                None if free => u16::MAX,
                None => return Step::Reject,
            };
            self.depth -= 1;
            self.closed_string(key, which);
            return Step::Ok;
        }
        let mut next = 0u64;
        for (i, c) in (0..64).map_while(|i| choice(i).map(|c| (i, c))) {
            if cands & (1 << i) != 0 && c.get(pos as usize) == Some(&b) {
                next |= 1 << i;
            }
        }
        if next == 0 && !free {
            return Step::Reject;
        }
        self.stack[d] = Frame::String {
            node,
            key,
            pos: pos.saturating_add(1),
            cands: next,
            free,
            escape,
            utf8,
        };
        Step::Ok
    }

    /// The closing quote of a string: a key moves its object on to the
    /// colon, a value is finished.
    fn closed_string(&mut self, key: bool, choice: u16) {
        match (key, self.top()) {
            (true, Some(Frame::Object { at, current, .. })) => {
                *current = choice;
                *at = ObjectAt::Colon;
            }
            _ => self.finished_value(),
        }
    }
}

/// JSON's string rules, one byte: the escape and UTF-8 state after it, and
/// whether it was the closing quote; `None` if the byte is not allowed.
fn string_automaton(escape: Escape, utf8: u8, b: u8) -> Option<(Escape, u8, bool)> {
    // `utf8`: 1-3 continuation bytes (0x80..=0xBF) to go; 4-7 the first
    // continuation of E0/ED/F0/F4, whose range is narrower (no overlong
    // forms, no surrogates, nothing above U+10FFFF: what `str` accepts)
    Some(match (escape, utf8, b) {
        (Escape::None, 0, b'"') => (Escape::None, 0, true),
        (Escape::None, 0, b'\\') => (Escape::Backslash, 0, false),
        (Escape::None, 0, 0x20..=0x7f) => (Escape::None, 0, false),
        (Escape::None, 0, 0xc2..=0xdf) => (Escape::None, 1, false),
        (Escape::None, 0, 0xe0) => (Escape::None, 4, false),
        (Escape::None, 0, 0xed) => (Escape::None, 5, false),
        (Escape::None, 0, 0xe1..=0xef) => (Escape::None, 2, false),
        (Escape::None, 0, 0xf0) => (Escape::None, 6, false),
        (Escape::None, 0, 0xf4) => (Escape::None, 7, false),
        (Escape::None, 0, 0xf1..=0xf3) => (Escape::None, 3, false),
        (Escape::None, n @ 1..=3, 0x80..=0xbf) => (Escape::None, n - 1, false),
        (Escape::None, 4, 0xa0..=0xbf) | (Escape::None, 5, 0x80..=0x9f) => (Escape::None, 1, false),
        (Escape::None, 6, 0x90..=0xbf) | (Escape::None, 7, 0x80..=0x8f) => (Escape::None, 2, false),
        (Escape::Backslash, 0, b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
            (Escape::None, 0, false)
        }
        (Escape::Backslash, 0, b'u') => (Escape::Hex(4), 0, false),
        // `\uD800`-`\uDFFF` are halves of surrogate pairs, valid JSON only in
        // pairs; a model can write those characters as UTF-8 instead
        (Escape::Hex(4), 0, b'd' | b'D') => (Escape::HexD, 0, false),
        (Escape::HexD, 0, b'0'..=b'7') => (Escape::Hex(2), 0, false),
        (Escape::Hex(n), 0, h) if h.is_ascii_hexdigit() => match n {
            1 => (Escape::None, 0, false),
            n => (Escape::Hex(n - 1), 0, false),
        },
        _ => return None,
    })
}

/// Choice `i` of a string: a property name (for a key of object `node`) or
/// an enum value, escaped, without quotes.
fn choice_text(g: &JsonGrammar, node: u16, key: bool, i: usize) -> Option<&[u8]> {
    match (key, &g.nodes[node as usize]) {
        (true, Node::Object { props, .. }) => props.get(i).map(|(k, _)| k.as_slice()),
        (false, Node::String { choices: Some(c) }) => c.get(i).map(Vec::as_slice),
        _ => None,
    }
}

enum Step {
    Ok,
    Reject,
    /// The open number/literal is complete and this byte is not part of
    /// it: close it and give the byte to the enclosing frame.
    CloseAndRetry,
}

fn ok(pushed: bool) -> Step {
    if pushed { Step::Ok } else { Step::Reject }
}

fn number_complete(at: NumberAt) -> bool {
    matches!(
        at,
        NumberAt::Zero | NumberAt::Int | NumberAt::Frac | NumberAt::Exp | NumberAt::Exp2
    )
}

fn matching(texts: &[Vec<u8>], cands: u64, pos: u16, b: u8) -> u64 {
    let mut next = 0;
    for (i, t) in texts.iter().enumerate() {
        if cands & (1 << i) != 0 && t.get(pos as usize) == Some(&b) {
            next |= 1 << i;
        }
    }
    next
}

fn texts_all_end(texts: &[Vec<u8>], cands: u64, pos: u16) -> bool {
    texts
        .iter()
        .enumerate()
        .all(|(i, t)| cands & (1 << i) == 0 || t.len() == pos as usize)
}

fn literal_exact(g: &JsonGrammar, node: u16, pos: u16, cands: u64) -> bool {
    match &g.nodes[node as usize] {
        Node::Literals(texts) => texts
            .iter()
            .enumerate()
            .any(|(i, t)| cands & (1 << i) != 0 && t.len() == pos as usize),
        _ => false,
    }
}
