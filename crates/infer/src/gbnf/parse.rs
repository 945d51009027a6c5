//! GBNF text → [`Rules`]: the parser.
//!
//! The syntax is llama.cpp's (its `grammars/README.md`):
//!
//! ```text
//! root   ::= answer ("," answer)*     # a comment
//! answer ::= "yes" | "no" | [0-9]{1,3} | [^\n]+ | .
//! ```
//!
//! A rule is `name ::= alternatives`, one per line (a line may continue
//! inside parentheses or after `|`). Names are ASCII letters, digits and
//! `-`. Items are string literals, character classes (`[a-z]`, negated
//! `[^...]`), `.` (any character), rule names and parenthesized groups,
//! each optionally followed by `*`, `+`, `?`, `{m}`, `{m,}` or `{m,n}`.
//!
//! Like llama.cpp, the parser desugars every group and repetition into
//! plain rules, so the matcher only ever sees sequences of characters and
//! rule references: `x*` becomes a new rule `r ::= x r |`, `x{2,4}` becomes
//! `x x r2` with `r2 ::= x r1 |` and `r1 ::= x |`.
//!
//! Where llama.cpp would accept something surprising, this parser refuses
//! it with the reason: a rule defined twice (llama.cpp keeps the last), a
//! repetition bound over 2000 (llama.cpp silently makes it unbounded), and
//! token references (`<[id]>`, `<|name|>`, `!<...>`: llama.cpp's grammars
//! can match special tokens; ours match text).

use std::collections::HashMap;

use super::left_recursion::check_left_recursion;

/// The most repetitions a `{m,n}` may ask for (llama.cpp's limit).
pub const MAX_REPETITIONS: u64 = 2000;
/// The most symbols a grammar may desugar into: `x{1000}{1000}` would
/// otherwise be a million copies of `x`.
const MAX_SYMBOLS: usize = 1 << 20;

/// Why a GBNF text cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GbnfError {
    #[error("GBNF line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("GBNF line {line}, column {column}: rule '{name}' is used but never defined")]
    UndefinedRule {
        name: String,
        line: usize,
        column: usize,
    },
    #[error("GBNF: there is no rule 'root' (the rule a grammar starts from)")]
    NoRoot,
    #[error(
        "GBNF: rule '{0}' is left-recursive (it can reach itself before reading a character); \
         llama.cpp refuses such grammars too: rewrite `a ::= a x | y` as `a ::= y x*`"
    )]
    LeftRecursion(String),
}

/// A grammar symbol: match one character of a class, or a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sym {
    /// Index into [`Rules::classes`].
    Char(u32),
    /// Index into [`Rules::rules`].
    Rule(u32),
}

/// A set of code points: `ranges` (inclusive), or everything but them.
/// `.` is the empty negated class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharClass {
    pub negated: bool,
    pub ranges: Vec<(u32, u32)>,
}

impl CharClass {
    pub fn matches(&self, c: u32) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

/// A parsed grammar: each rule a list of alternatives, each alternative a
/// sequence of symbols (empty: the rule may match nothing).
#[derive(Debug, Clone)]
pub struct Rules {
    pub rules: Vec<Vec<Vec<Sym>>>,
    pub classes: Vec<CharClass>,
    /// Rule names; desugared rules are named after their parent (`item_3`).
    pub names: Vec<String>,
    pub root: u32,
}

/// Parses a GBNF text (see the module docs for the syntax).
pub fn parse(text: &str) -> Result<Rules, GbnfError> {
    let mut p = Parser {
        src: text.as_bytes(),
        pos: 0,
        rules: Vec::new(),
        classes: Vec::new(),
        names: Vec::new(),
        ids: HashMap::new(),
        defined_at: Vec::new(),
        used_at: Vec::new(),
        symbols: 0,
    };
    p.space(true);
    while p.pos < p.src.len() {
        p.rule()?;
    }
    for (id, body) in p.rules.iter().enumerate() {
        if body.is_none() {
            let (line, column) = p.line_col(p.used_at[id]);
            return Err(GbnfError::UndefinedRule {
                name: p.names[id].clone(),
                line,
                column,
            });
        }
    }
    let root = *p.ids.get("root").ok_or(GbnfError::NoRoot)?;
    let rules = Rules {
        rules: p.rules.into_iter().map(Option::unwrap).collect(),
        classes: p.classes,
        names: p.names,
        root,
    };
    check_left_recursion(&rules)?;
    Ok(rules)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
    /// `None`: referenced, not yet defined.
    rules: Vec<Option<Vec<Vec<Sym>>>>,
    classes: Vec<CharClass>,
    names: Vec<String>,
    ids: HashMap<String, u32>,
    /// Where each named rule was defined (`None`: not yet).
    defined_at: Vec<Option<usize>>,
    /// Where each rule was first referenced (for "never defined").
    used_at: Vec<usize>,
    symbols: usize,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

impl Parser<'_> {
    fn peek(&self) -> u8 {
        self.src.get(self.pos).copied().unwrap_or(0)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn line_col(&self, at: usize) -> (usize, usize) {
        let before = &self.src[..at.min(self.src.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
        (line, column)
    }

    fn error<T>(&self, at: usize, message: impl Into<String>) -> Result<T, GbnfError> {
        let (line, column) = self.line_col(at);
        Err(GbnfError::Syntax {
            line,
            column,
            message: message.into(),
        })
    }

    /// Skips spaces, tabs and `#` comments; newlines too if `newlines`.
    fn space(&mut self, newlines: bool) {
        while let Some(&b) = self.src.get(self.pos) {
            match b {
                b' ' | b'\t' => self.pos += 1,
                b'\r' | b'\n' if newlines => self.pos += 1,
                b'#' => {
                    while !self.at_end() && !matches!(self.peek(), b'\r' | b'\n') {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn name(&mut self) -> Result<String, GbnfError> {
        let start = self.pos;
        while is_word(self.peek()) {
            self.pos += 1;
        }
        if start == self.pos {
            return self.error(start, "expected a rule name");
        }
        Ok(String::from_utf8_lossy(&self.src[start..self.pos]).into_owned())
    }

    fn rule_id(&mut self, name: &str, at: usize) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.rules.len() as u32;
        self.rules.push(None);
        self.names.push(name.to_string());
        self.defined_at.push(None);
        self.used_at.push(at);
        self.ids.insert(name.to_string(), id);
        id
    }

    /// A rule for a group or a repetition, named after its parent.
    fn new_rule(&mut self, parent: &str, body: Vec<Vec<Sym>>) -> u32 {
        let id = self.rules.len() as u32;
        self.names.push(format!("{parent}_{id}"));
        self.rules.push(Some(body));
        self.defined_at.push(Some(self.pos));
        self.used_at.push(self.pos);
        id
    }

    /// `name ::= alternatives` and the end of its line.
    fn rule(&mut self) -> Result<(), GbnfError> {
        let start = self.pos;
        let name = self.name()?;
        self.space(false);
        if !self.src[self.pos..].starts_with(b"::=") {
            return self.error(self.pos, format!("expected '::=' after rule name '{name}'"));
        }
        self.pos += 3;
        self.space(true);
        let id = self.rule_id(&name, start);
        if self.defined_at[id as usize].is_some() {
            return self.error(start, format!("rule '{name}' is defined twice"));
        }
        self.defined_at[id as usize] = Some(start);
        let body = self.alternatives(&name, false)?;
        self.rules[id as usize] = Some(body);
        match self.peek() {
            b'\r' | b'\n' => {}
            _ if self.at_end() => {}
            b')' => return self.error(self.pos, "unmatched ')'"),
            other => {
                let c = self.char_at(self.pos).map_or(other as char, |(c, _)| c);
                return self.error(self.pos, format!("unexpected '{c}'"));
            }
        }
        self.space(true);
        Ok(())
    }

    fn alternatives(&mut self, rule: &str, nested: bool) -> Result<Vec<Vec<Sym>>, GbnfError> {
        let mut alts = vec![self.sequence(rule, nested)?];
        while self.peek() == b'|' {
            self.pos += 1;
            self.space(true);
            alts.push(self.sequence(rule, nested)?);
        }
        Ok(alts)
    }

    /// Items up to `|`, `)`, or (outside parentheses) the end of the line.
    fn sequence(&mut self, rule: &str, nested: bool) -> Result<Vec<Sym>, GbnfError> {
        let mut seq = Vec::new();
        // where the last item's symbols start (what a `*` repeats)
        let mut last: Option<usize> = None;
        while !self.at_end() {
            let at = self.pos;
            match self.peek() {
                b'"' => {
                    self.pos += 1;
                    last = Some(seq.len());
                    loop {
                        if self.at_end() {
                            return self.error(at, "unterminated string literal");
                        }
                        if self.peek() == b'"' {
                            break;
                        }
                        let c = self.char()?;
                        let class = self.class(false, vec![(c, c)]);
                        seq.push(Sym::Char(class));
                    }
                    self.pos += 1;
                }
                b'[' => {
                    self.pos += 1;
                    let negated = self.peek() == b'^';
                    if negated {
                        self.pos += 1;
                    }
                    let mut ranges = Vec::new();
                    loop {
                        if self.at_end() {
                            return self.error(at, "unterminated character class");
                        }
                        if self.peek() == b']' {
                            break;
                        }
                        let lo = self.char()?;
                        let hi = if self.peek() == b'-' && self.src.get(self.pos + 1) != Some(&b']')
                        {
                            self.pos += 1;
                            if self.at_end() {
                                return self.error(at, "unterminated character class");
                            }
                            self.char()?
                        } else {
                            lo
                        };
                        ranges.push((lo, hi));
                    }
                    self.pos += 1;
                    last = Some(seq.len());
                    let class = self.class(negated, ranges);
                    seq.push(Sym::Char(class));
                }
                b'.' => {
                    self.pos += 1;
                    last = Some(seq.len());
                    let class = self.class(true, Vec::new());
                    seq.push(Sym::Char(class));
                }
                b'<' | b'!' => {
                    return self.error(
                        at,
                        "token references (<[id]>, <token>, !<...>) are not supported: \
                         these grammars match text",
                    );
                }
                b'(' => {
                    self.pos += 1;
                    self.space(true);
                    let body = self.alternatives(rule, true)?;
                    if self.peek() != b')' {
                        return self.error(self.pos, "expected ')'");
                    }
                    self.pos += 1;
                    last = Some(seq.len());
                    let id = self.new_rule(rule, body);
                    seq.push(Sym::Rule(id));
                }
                b if is_word(b) => {
                    let name = self.name()?;
                    last = Some(seq.len());
                    let id = self.rule_id(&name, at);
                    seq.push(Sym::Rule(id));
                }
                b'*' | b'+' | b'?' | b'{' => {
                    let (min, max) = self.repetition()?;
                    let Some(start) = last.take().filter(|&s| s < seq.len()) else {
                        return self.error(at, "a repetition needs an item before it");
                    };
                    let item = seq.split_off(start);
                    self.repeat(rule, &mut seq, item, min, max, at)?;
                    // `x*?` applies `?` to `x*`, as in llama.cpp
                    last = Some(start);
                }
                _ => break,
            }
            self.space(nested);
        }
        Ok(seq)
    }

    /// `*`, `+`, `?`, `{m}`, `{m,}`, `{m,n}` as (min, max); `None`: unbounded.
    fn repetition(&mut self) -> Result<(u64, Option<u64>), GbnfError> {
        let b = self.peek();
        self.pos += 1;
        match b {
            b'*' => return Ok((0, None)),
            b'+' => return Ok((1, None)),
            b'?' => return Ok((0, Some(1))),
            _ => {}
        }
        self.space(false);
        let min = self.int()?;
        self.space(false);
        let max = match self.peek() {
            b'}' => Some(min),
            b',' => {
                self.pos += 1;
                self.space(false);
                let max = if self.peek().is_ascii_digit() {
                    Some(self.int()?)
                } else {
                    None
                };
                self.space(false);
                if self.peek() != b'}' {
                    return self.error(self.pos, "expected '}'");
                }
                max
            }
            _ => return self.error(self.pos, "expected ',' or '}'"),
        };
        self.pos += 1;
        Ok((min, max))
    }

    fn int(&mut self) -> Result<u64, GbnfError> {
        let start = self.pos;
        while self.peek().is_ascii_digit() {
            self.pos += 1;
        }
        let digits = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
        match digits.parse::<u64>() {
            Ok(n) if n <= MAX_REPETITIONS => Ok(n),
            Ok(_) | Err(_) if !digits.is_empty() => self.error(
                start,
                format!("repetition count {digits} is over the limit of {MAX_REPETITIONS}"),
            ),
            _ => self.error(start, "expected an integer"),
        }
    }

    /// Appends `item` repeated `min..=max` times to `seq`: `min` copies,
    /// then a chain of optional rules (or one recursive rule if unbounded).
    fn repeat(
        &mut self,
        rule: &str,
        seq: &mut Vec<Sym>,
        item: Vec<Sym>,
        min: u64,
        max: Option<u64>,
        at: usize,
    ) -> Result<(), GbnfError> {
        if let Some(max) = max
            && max < min
        {
            return self.error(at, format!("repetition {{{min},{max}}}: max is below min"));
        }
        let copies = max.unwrap_or(min + 1) as usize;
        self.symbols += item.len() * copies;
        if self.symbols > MAX_SYMBOLS {
            return self.error(at, "the repetitions make the grammar too large");
        }
        for _ in 0..min {
            seq.extend_from_slice(&item);
        }
        match max {
            // r ::= item r |
            None => {
                let id = self.rules.len() as u32;
                let mut again = item;
                again.push(Sym::Rule(id));
                self.new_rule(rule, vec![again, Vec::new()]);
                seq.push(Sym::Rule(id));
            }
            // r1 ::= item | ; r2 ::= item r1 | ; ...
            Some(max) => {
                let mut prev: Option<u32> = None;
                for _ in min..max {
                    let mut alt = item.clone();
                    alt.extend(prev.map(Sym::Rule));
                    prev = Some(self.new_rule(rule, vec![alt, Vec::new()]));
                }
                seq.extend(prev.map(Sym::Rule));
            }
        }
        Ok(())
    }

    fn class(&mut self, negated: bool, ranges: Vec<(u32, u32)>) -> u32 {
        let class = CharClass { negated, ranges };
        // literals repeat the same characters: share their classes
        if let Some(i) = self.classes.iter().position(|c| *c == class) {
            return i as u32;
        }
        self.classes.push(class);
        (self.classes.len() - 1) as u32
    }

    /// The UTF-8 character at `at` and its length.
    fn char_at(&self, at: usize) -> Option<(char, usize)> {
        let rest = &self.src[at..];
        let len = match rest.first()? {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        let c = std::str::from_utf8(rest.get(..len)?).ok()?.chars().next()?;
        Some((c, len))
    }

    /// One character of a literal or class: an escape or a UTF-8 character.
    fn char(&mut self) -> Result<u32, GbnfError> {
        let at = self.pos;
        if self.peek() == b'\\' {
            let esc = self.src.get(at + 1).copied().unwrap_or(0);
            self.pos += 2;
            return match esc {
                b'x' => self.hex(2, at),
                b'u' => self.hex(4, at),
                b'U' => self.hex(8, at),
                b't' => Ok('\t' as u32),
                b'r' => Ok('\r' as u32),
                b'n' => Ok('\n' as u32),
                b'\\' | b'"' | b'[' | b']' | b'-' => Ok(esc as u32),
                _ => self.error(
                    at,
                    "unknown escape (known: \\x \\u \\U \\t \\r \\n \\\\ \\\" \\[ \\] \\-)",
                ),
            };
        }
        // the text came in as &str, so it is valid UTF-8
        let (c, len) = self.char_at(at).expect("valid UTF-8");
        self.pos += len;
        Ok(c as u32)
    }

    fn hex(&mut self, digits: usize, at: usize) -> Result<u32, GbnfError> {
        let text = self.src.get(self.pos..self.pos + digits);
        let value = text
            .filter(|t| t.iter().all(u8::is_ascii_hexdigit))
            .and_then(|t| u32::from_str_radix(std::str::from_utf8(t).ok()?, 16).ok());
        match value {
            Some(v) => {
                self.pos += digits;
                Ok(v)
            }
            None => self.error(at, format!("expected {digits} hex digits after the escape")),
        }
    }
}
