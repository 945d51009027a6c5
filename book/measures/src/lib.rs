//! The book's measured numbers come from its figure files, never from a
//! hand-typed copy.
//!
//! A chapter writes `{{measure bench-table.txt "tg128 |" round=0}}` where it
//! needs a measured number: the first number after the text `tg128 |` in
//! `book/src/figures/bench-table.txt`, rounded to no decimals. Several quoted
//! texts narrow the search step by step (`'"Q4_0.gguf"' '"locallm_tg_tok_s"'`
//! finds that file's row of a JSON list, then the field in it); a text may
//! be quoted with `'` to hold a `"`, and in a JSON file every text is a
//! quoted string, so that `"ppl"` cannot find `"ppl_base"`; `nth=3` takes the third number after the
//! last text (a table row's third number). A number derived from
//! measurements is a `{{calc ...}}`: `{{calc 1000 / [bench-table.txt "tg128 |"]
//! round=1}}` is the milliseconds per decoded token. `just
//! book-bench` rewrites the figure files; the next `mdbook build` rewrites the
//! prose with them, and a marker that no longer finds its number fails the
//! build (and `cargo test -p locallm-book`), so prose and figures cannot drift
//! apart.
//!
//! The mdBook side (`src/main.rs`) is a filter over the book's JSON; the
//! logic lives here so that tests can run it without mdBook.

use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("malformed marker {{{{measure {marker}}}}}: {why}")]
    Malformed { marker: String, why: String },
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: no {text:?} after the previous search texts of {{{{measure {marker}}}}}")]
    TextMissing {
        file: String,
        text: String,
        marker: String,
    },
    #[error("{file}: no number after the search texts of {{{{measure {marker}}}}}")]
    NumberMissing { file: String, marker: String },
}

/// The openings of the two markers; each closes at the next `}}`.
pub const OPENINGS: [&str; 2] = ["{{measure ", "{{calc "];

/// One parsed `{{measure FILE "TEXT"... [nth=N] [round=N]}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// A file of `book/src/figures`.
    pub file: String,
    /// Texts searched one after the other; the number follows the last one.
    pub after: Vec<String>,
    /// Which number after the last text: 1 for the first (a table row's
    /// second column is `nth=2` after the row's label).
    pub nth: usize,
    /// Decimals to round to; `None` keeps the number as the file writes it.
    pub round: Option<usize>,
}

impl Marker {
    /// Parses the inside of a marker (what stands between `{{measure ` and `}}`).
    pub fn parse(inner: &str) -> Result<Marker, MeasureError> {
        let bad = |why: &str| MeasureError::Malformed {
            marker: inner.to_string(),
            why: why.to_string(),
        };
        let inner = inner.trim();
        let (file, mut rest) = inner.split_once(' ').ok_or_else(|| bad("no search text"))?;
        if file.contains(['/', '\\']) || file.starts_with('.') {
            return Err(bad("the file must be a plain name in book/src/figures"));
        }
        let mut after = Vec::new();
        let mut round = None;
        let mut nth = 1;
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
            if let Some(quote) = quote {
                let quoted = &rest[1..];
                let end = quoted.find(quote).ok_or_else(|| bad("an unclosed quote"))?;
                after.push(quoted[..end].to_string());
                rest = &quoted[end + 1..];
            } else {
                let (word, tail) = rest.split_at(rest.find(' ').unwrap_or(rest.len()));
                let count = |v: &str| v.parse::<usize>().map_err(|_| bad("a count expected"));
                match word.split_once('=') {
                    Some(("round", v)) => round = Some(count(v)?),
                    Some(("nth", v)) if count(v)? > 0 => nth = count(v)?,
                    _ => return Err(bad("expected a quoted text, round=N or nth=N (N > 0)")),
                }
                rest = tail;
            }
        }
        if after.is_empty() || after.iter().any(String::is_empty) {
            return Err(bad("no search text"));
        }
        // "ppl" would find "ppl_base" first: in JSON, search for whole quoted
        // keys and values
        if file.ends_with(".json") && after.iter().any(|t| !t.starts_with('"')) {
            return Err(bad(
                r#"in a JSON file, search for quoted strings, as '"ppl"'"#,
            ));
        }
        Ok(Marker {
            file: file.to_string(),
            after,
            nth,
            round,
        })
    }

    fn describe(&self) -> String {
        let texts: Vec<String> = self.after.iter().map(|t| format!("{t:?}")).collect();
        format!("{} {}", self.file, texts.join(" "))
    }

    /// The number the marker stands for, read from `figures`.
    pub fn resolve(&self, figures: &Path) -> Result<String, MeasureError> {
        let path = figures.join(&self.file);
        let text =
            fs::read_to_string(&path).map_err(|source| MeasureError::Read { path, source })?;
        let mut at = 0;
        for needle in &self.after {
            let found =
                text[at..]
                    .find(needle.as_str())
                    .ok_or_else(|| MeasureError::TextMissing {
                        file: self.file.clone(),
                        text: needle.clone(),
                        marker: self.describe(),
                    })?;
            at += found + needle.len();
        }
        let missing = || MeasureError::NumberMissing {
            file: self.file.clone(),
            marker: self.describe(),
        };
        let mut number = "";
        for _ in 0..self.nth {
            number = first_number(&text[at..]).ok_or_else(missing)?;
            // the number's end, found again in the text it was cut from
            at = number.as_ptr() as usize - text.as_ptr() as usize + number.len();
        }
        Ok(match self.round {
            None => number.to_string(),
            Some(decimals) => {
                let value: f64 = number.parse().expect("first_number returns a number");
                format!("{value:.decimals$}")
            }
        })
    }
}

/// The first decimal number in `text` (`-` sign and `.` fraction included).
pub fn first_number(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(u8::is_ascii_digit)?;
    let start = if start > 0 && bytes[start - 1] == b'-' {
        start - 1
    } else {
        start
    };
    let mut end = start + 1;
    let mut seen_dot = false;
    while end < bytes.len() {
        match bytes[end] {
            b'0'..=b'9' => {}
            b'.' if !seen_dot && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) => {
                seen_dot = true
            }
            _ => break,
        }
        end += 1;
    }
    Some(&text[start..end])
}

/// Every marker of `text`: its byte range (the `{{` to the `}}`), its
/// opening and what stands inside.
pub fn markers(text: &str) -> Vec<(std::ops::Range<usize>, &'static str, &str)> {
    let mut found = Vec::new();
    let mut from = 0;
    loop {
        let next = OPENINGS
            .iter()
            .filter_map(|open| text[from..].find(open).map(|at| (from + at, *open)))
            .min();
        let Some((start, open)) = next else { break };
        let inner_start = start + open.len();
        let end = text[inner_start..]
            .find("}}")
            .map_or(text.len(), |len| inner_start + len + 2);
        found.push((
            start..end,
            open,
            &text[inner_start..end.saturating_sub(2).max(inner_start)],
        ));
        from = end;
    }
    found
}

/// The number a marker stands for.
pub fn resolve(
    open: &str,
    inner: &str,
    whole: &str,
    figures: &Path,
) -> Result<String, MeasureError> {
    if !whole.ends_with("}}") {
        return Err(MeasureError::Malformed {
            marker: inner.lines().next().unwrap_or("").to_string(),
            why: "no closing }}".into(),
        });
    }
    if open == OPENINGS[0] {
        return Marker::parse(inner)?.resolve(figures);
    }
    let bad = |why: String| MeasureError::Malformed {
        marker: inner.to_string(),
        why,
    };
    let (expr, round) = match inner.trim_end().rsplit_once(" round=") {
        Some((expr, n)) => (
            expr,
            n.parse().map_err(|_| bad("round= wants a count".into()))?,
        ),
        None => return Err(bad("a calc needs round=N".into())),
    };
    let value = Calc {
        text: expr,
        at: 0,
        figures,
    }
    .eval()
    .map_err(bad)?;
    Ok(format!("{value:.round$}"))
}

/// `{{calc EXPR round=N}}`: `+ - * /` and parentheses over numbers and
/// `[FILE "TEXT"...]` references (a measure marker's inside), so that a
/// number derived from measurements (a ratio, a time) follows them too.
struct Calc<'a> {
    text: &'a str,
    at: usize,
    figures: &'a Path,
}

impl Calc<'_> {
    fn eval(mut self) -> Result<f64, String> {
        let value = self.sum()?;
        self.skip_space();
        match self.text[self.at..].is_empty() {
            true => Ok(value),
            false => Err(format!("unexpected {:?}", &self.text[self.at..])),
        }
    }

    fn skip_space(&mut self) {
        self.at = self.text.len() - self.text[self.at..].trim_start().len();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.text[self.at..].chars().next()
    }

    fn sum(&mut self) -> Result<f64, String> {
        let mut value = self.product()?;
        while let Some(op @ ('+' | '-')) = self.peek() {
            self.at += 1;
            let rhs = self.product()?;
            value = if op == '+' { value + rhs } else { value - rhs };
        }
        Ok(value)
    }

    fn product(&mut self) -> Result<f64, String> {
        let mut value = self.factor()?;
        while let Some(op @ ('*' | '/')) = self.peek() {
            self.at += 1;
            let rhs = self.factor()?;
            value = if op == '*' { value * rhs } else { value / rhs };
        }
        Ok(value)
    }

    fn factor(&mut self) -> Result<f64, String> {
        match self.peek() {
            Some('(') => {
                self.at += 1;
                let value = self.sum()?;
                match self.peek() {
                    Some(')') => {
                        self.at += 1;
                        Ok(value)
                    }
                    _ => Err("a missing )".into()),
                }
            }
            Some('[') => {
                let rest = &self.text[self.at + 1..];
                let len = rest.find(']').ok_or("a missing ]")?;
                self.at += len + 2;
                let number = Marker::parse(&rest[..len])
                    .and_then(|m| m.resolve(self.figures))
                    .map_err(|e| e.to_string())?;
                Ok(number.parse().expect("a marker resolves to a number"))
            }
            Some('-') => {
                self.at += 1;
                Ok(-self.factor()?)
            }
            _ => {
                let number = first_number(&self.text[self.at..])
                    .filter(|n| self.text[self.at..].starts_with(n))
                    .ok_or_else(|| format!("a number expected at {:?}", &self.text[self.at..]))?;
                self.at += number.len();
                Ok(number.parse().expect("first_number returns a number"))
            }
        }
    }
}

/// `text` with every marker replaced by its number.
pub fn substitute(text: &str, figures: &Path) -> Result<String, MeasureError> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (range, open, inner) in markers(text) {
        out.push_str(&text[last..range.start]);
        out.push_str(&resolve(open, inner, &text[range.clone()], figures)?);
        last = range.end;
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// `text` with a caption above every listing (a fenced block of any
/// language whose first line is an include) that includes a file of the
/// repository: "Listing 9-2: `crates/quant/src/gguf/read.rs`, `read_header`".
/// The caption is made from the include itself, so it names the file the
/// listing really comes from. `label` is the chapter's number ("9", "17.1").
pub fn caption_listings(text: &str, label: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len() + 64);
    let mut count = 0;
    for (i, line) in lines.iter().enumerate() {
        let indent = &line[..line.len() - line.trim_start().len()];
        // a fence with a language (```rust, ```toml, ...) opens a listing
        let opens_code = line
            .trim_start()
            .strip_prefix("```")
            .is_some_and(|info| !info.is_empty());
        let include = lines
            .get(i + 1)
            .and_then(|next| listing_source(next.trim()));
        if let (true, Some((path, anchor))) = (opens_code, include) {
            count += 1;
            if i > 0 && !lines[i - 1].trim().is_empty() {
                out.push_str(indent);
                out.push('\n');
            }
            out.push_str(&format!("{indent}*Listing {label}-{count}: `{path}`"));
            if let Some(anchor) = anchor {
                out.push_str(&format!(", `{anchor}`"));
            }
            out.push_str("*\n\n");
        }
        out.push_str(line);
        out.push('\n');
    }
    if !text.ends_with('\n') {
        out.pop();
    }
    out
}

/// The repository path and anchor of `{{#include ../../crates/x.rs:anchor}}`,
/// or `None` for an include of anything but the repository's code.
fn listing_source(line: &str) -> Option<(&str, Option<&str>)> {
    let inner = ["{{#include ", "{{#rustdoc_include "]
        .iter()
        .find_map(|open| line.strip_prefix(open))?
        .strip_suffix("}}")?
        .trim();
    let (path, selector) = match inner.split_once(':') {
        Some((path, selector)) => (path, Some(selector)),
        None => (inner, None),
    };
    let path = path.strip_prefix("../../")?;
    // a line range (`file.rs:10:20`) is not a name worth printing
    let anchor = selector.filter(|s| !s.chars().all(|c| c.is_ascii_digit() || c == ':'));
    Some((path, anchor))
}

/// A chapter's label for its listings: the number its title starts with
/// ("17.1 Quantization" -> "17.1"), or the first word ("A Dictionary" -> "A").
pub fn chapter_label(title: &str) -> &str {
    title.split_whitespace().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            (
                "t.txt",
                "|  pp512 | 147.41 ± 7.49 |\n|  tg128 | 67.62 ± 3.65 |\npeak RSS 168 MiB\n",
            ),
            (
                "r.json",
                r#"[{"file": "a.gguf", "tok_s": 21.457}, {"file": "b.gguf", "tok_s": -3.5}]"#,
            ),
        ];
        for (name, text) in files {
            fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn a_marker_reads_the_number_after_its_texts() {
        let dir = figures();
        let text = "decode {{measure t.txt \"tg128 |\"}} tok/s, {{measure t.txt \"tg128\" round=0}}; \
                    RSS {{measure t.txt \"peak RSS\"}} MiB; b {{measure r.json '\"b.gguf\"' '\"tok_s\"' round=1}}";
        assert_eq!(
            substitute(text, dir.path()).unwrap(),
            "decode 67.62 tok/s, 68; RSS 168 MiB; b -3.5"
        );
        // the second text is searched after the first, not from the start
        let m = Marker::parse(r#"r.json '"a.gguf"' '"tok_s"' round=2"#).unwrap();
        assert_eq!(m.resolve(dir.path()).unwrap(), "21.46");
        // a table row's later columns, and a text holding a double quote
        let m = Marker::parse(r#"t.txt "pp512 |" nth=2"#).unwrap();
        assert_eq!(m.resolve(dir.path()).unwrap(), "7.49");
        let m = Marker::parse(r#"r.json '"b.gguf"' '"tok_s"' round=0"#).unwrap();
        assert_eq!(m.resolve(dir.path()).unwrap(), "-4");
    }

    #[test]
    fn a_marker_that_finds_nothing_is_an_error_not_an_empty_number() {
        let dir = figures();
        for bad in [
            "{{measure t.txt \"tg256\"}}",
            "{{measure t.txt \"MiB\"}}",
            "{{measure missing.txt \"x\"}}",
            "{{measure t.txt}}",
            "{{measure ../t.txt \"x\"}}",
            "{{measure t.txt \"x\" round=two}}",
            "{{measure t.txt \"pp512\" nth=0}}",
            "{{measure r.json \"tok_s\"}}",
            "{{measure t.txt \"peak RSS\" nth=2}}",
            "{{measure t.txt \"x",
        ] {
            assert!(substitute(bad, dir.path()).is_err(), "{bad} resolved");
        }
    }

    #[test]
    fn a_calc_does_arithmetic_on_measurements() {
        let dir = figures();
        let text = "{{calc 1000 / [t.txt \"tg128 |\"] round=2}} ms; \
                    {{calc ([t.txt \"pp512 |\"] - 7.41) * 2 / -4 + 1 round=0}}; \
                    {{calc [r.json '\"b.gguf\"' '\"tok_s\"'] / [r.json '\"a.gguf\"' '\"tok_s\"'] round=3}}";
        assert_eq!(
            substitute(text, dir.path()).unwrap(),
            "14.79 ms; -69; -0.163"
        );
        for bad in [
            "{{calc 1 + 2}}",
            "{{calc 1 + round=0}}",
            "{{calc (1 + 2 round=0}}",
            "{{calc [t.txt \"nothing\"] round=0}}",
            "{{calc 1 2 round=0}}",
        ] {
            assert!(substitute(bad, dir.path()).is_err(), "{bad} resolved");
        }
    }

    #[test]
    fn numbers_are_read_as_written() {
        assert_eq!(first_number("a 1.5.2 b"), Some("1.5"));
        assert_eq!(first_number("ceiling 265 tok/s."), Some("265"));
        assert_eq!(first_number(": -0.0205 |"), Some("-0.0205"));
        assert_eq!(first_number("none"), None);
    }

    #[test]
    fn listings_of_repository_code_get_a_caption_naming_their_file() {
        let text = "Intro.\n```rust,ignore\n{{#include ../../crates/quant/src/mix.rs:fallback}}\n```\n\n\
                    ```console\n{{#include figures/x.txt}}\n```\n\
                    - item\n\n  ```rust,ignore\n  {{#include ../../tests/tests/a.rs}}\n  ```\n";
        let out = caption_listings(text, "17.1");
        assert_eq!(
            out,
            "Intro.\n\n*Listing 17.1-1: `crates/quant/src/mix.rs`, `fallback`*\n\n\
             ```rust,ignore\n{{#include ../../crates/quant/src/mix.rs:fallback}}\n```\n\n\
             ```console\n{{#include figures/x.txt}}\n```\n\
             - item\n\n  *Listing 17.1-2: `tests/tests/a.rs`*\n\n  ```rust,ignore\n  \
             {{#include ../../tests/tests/a.rs}}\n  ```\n"
        );
        let toml = caption_listings(
            "```toml\n{{#include ../../scripts/train/tiny.toml}}\n```",
            "4",
        );
        assert!(
            toml.starts_with("*Listing 4-1: `scripts/train/tiny.toml`*\n\n```toml"),
            "{toml}"
        );
        assert_eq!(chapter_label("17.1 Quantization"), "17.1");
        assert_eq!(chapter_label("A Dictionary"), "A");
    }
}
