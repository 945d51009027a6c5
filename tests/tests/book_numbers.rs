//! The book's measured numbers come from its figure files, and say so.
//!
//! A measured number in a chapter is either a `{{measure ...}}` or
//! `{{calc ...}}` marker, which `book/measures` replaces with the number in
//! `book/src/figures/` at build time, or a literal whose paragraph says where
//! it came from. When that paragraph names a figure or golden file, the
//! number must be in it (rounded as the prose rounds it): prose and artifact
//! cannot disagree.

use std::fs;
use std::path::PathBuf;

use regex::Regex;

mod common;
use common::{chapters, repo_root};

fn figures() -> PathBuf {
    repo_root().join("book/src/figures")
}

#[test]
fn every_marker_finds_its_number() {
    let mut count = 0;
    let mut problems = Vec::new();
    for (name, text) in chapters() {
        count += locallm_book::markers(&text).len();
        if let Err(e) = locallm_book::substitute(&text, &figures()) {
            problems.push(format!("{name}: {e}"));
        }
    }
    assert!(count >= 40, "only {count} markers in the book");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Paragraphs of prose (first line number, lines), outside code blocks and
/// headings; a table is one paragraph.
fn paragraphs(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let is_fence = t.starts_with("```");
        let breaks = is_fence || fenced || t.is_empty() || t.starts_with('#');
        if is_fence {
            fenced = !fenced;
        }
        if breaks {
            found.extend(current.take());
            continue;
        }
        match &mut current {
            Some((_, text)) => {
                text.push('\n');
                text.push_str(t);
            }
            None => current = Some((i + 1, t.to_string())),
        }
    }
    found.extend(current);
    found
}

/// Phrases that say where a literal measured number comes from.
const SOURCES: [&str; 7] = [
    "computed",
    "publish",
    "paper",
    "development log",
    "these two runs",
    "scripts/train/",
    "](http",
];

/// Words that make a number a measurement: in a table's header, they mark
/// the measured columns.
const MEASURES: [&str; 6] = [
    "KLD",
    "KL divergence",
    "perplexity",
    "PPL",
    "tok/s",
    "same top",
];

/// The measured-looking numbers of a paragraph: a number before a speed or
/// bandwidth unit, after "KLD" or "perplexity", and the numbers of a table's
/// measured columns. Markers and code spans are not literals and are left out.
fn measured_literals(paragraph: &str) -> Vec<String> {
    let markers = Regex::new(r"\{\{(measure|calc) [^}]*\}\}|`[^`]*`").unwrap();
    let paragraph = markers.replace_all(paragraph, "M");
    let number = r"(-?\d[\d,]*(?:\.\d+)?)";
    if paragraph.starts_with('|') {
        let cells = |row: &str| -> Vec<String> {
            row.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        };
        let mut rows = paragraph.lines();
        let header = cells(rows.next().unwrap_or(""));
        let measured: Vec<bool> = header
            .iter()
            .map(|h| MEASURES.iter().any(|m| h.contains(m)))
            .collect();
        let cell = Regex::new(&format!(r"^{number}\s*%?$")).unwrap();
        return rows
            .skip(1) // |---|
            .flat_map(|row| {
                cells(row)
                    .into_iter()
                    .zip(measured.iter())
                    .filter(|(_, m)| **m)
                    .filter_map(|(c, _)| cell.captures(&c).map(|c| c[1].to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    let text = paragraph.replace('\n', " ");
    let unit = Regex::new(&format!(
        r"{number} ?(?:tok/s|tokens a second|tokens per second|t/s|GB/s)"
    ))
    .unwrap();
    let after = Regex::new(&format!(
        r"(?:KLD|KL divergence of|perplexity|PPL) (?:of |at |from )?{number}"
    ))
    .unwrap();
    unit.captures_iter(&text)
        .chain(after.captures_iter(&text))
        .map(|c| c[1].to_string())
        .collect()
}

/// The files a paragraph cites: `figures/...` or `tests/golden/...` paths.
fn cited_files(paragraph: &str) -> Vec<PathBuf> {
    let path = Regex::new(r"(?:book/src/)?(figures/[\w.-]+|tests/golden/[\w./-]+)").unwrap();
    path.captures_iter(paragraph)
        .map(|c| {
            let rel = c[1].trim_end_matches('.');
            if rel.starts_with("figures/") {
                repo_root().join("book/src").join(rel)
            } else {
                repo_root().join(rel)
            }
        })
        .collect()
}

/// Whether `literal` (as the prose writes it) is one of the numbers of
/// `text`, rounded to the literal's decimals.
fn appears_in(literal: &str, text: &str) -> bool {
    let clean = literal.replace(',', "");
    let Ok(value) = clean.parse::<f64>() else {
        return false;
    };
    let decimals = clean.split_once('.').map_or(0, |(_, d)| d.len());
    let scale = 10f64.powi(decimals as i32);
    let numbers = Regex::new(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?").unwrap();
    numbers.find_iter(text).any(|m| {
        m.as_str()
            .parse::<f64>()
            .is_ok_and(|x| x.is_finite() && ((x * scale).round() - value * scale).abs() < 0.5)
    })
}

/// Problems with the measured numbers of one chapter's text.
fn unsourced_numbers(name: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let paragraphs = paragraphs(text);
    for (i, (line, paragraph)) in paragraphs.iter().enumerate() {
        let literals = measured_literals(paragraph);
        if literals.is_empty() {
            continue;
        }
        // a table's source is said in the paragraph that introduces it
        let context = match (paragraph.starts_with('|'), i.checked_sub(1)) {
            (true, Some(prev)) => format!("{} {paragraph}", paragraphs[prev].1),
            _ => paragraph.clone(),
        };
        let context = context.split_whitespace().collect::<Vec<_>>().join(" ");
        let cited = cited_files(&context);
        if !cited.is_empty() {
            let texts: Vec<String> = cited
                .iter()
                .map(|p| fs::read_to_string(p).unwrap_or_default())
                .collect();
            for literal in &literals {
                if !texts.iter().any(|t| appears_in(literal, t)) {
                    problems.push(format!(
                        "{name}:{line}: {literal} is not in {}",
                        cited
                            .iter()
                            .map(|p| p
                                .strip_prefix(repo_root())
                                .unwrap_or(p)
                                .display()
                                .to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        } else if !SOURCES.iter().any(|s| context.contains(s)) {
            problems.push(format!(
                "{name}:{line}: measured {literals:?} with no source: use a {{{{measure}}}} \
                 marker, or name the file or say how it was obtained"
            ));
        }
    }
    problems
}

#[test]
fn measured_numbers_in_prose_come_from_a_marker_or_a_named_source() {
    let mut problems = Vec::new();
    for (name, text) in chapters() {
        problems.extend(unsourced_numbers(&name, &text));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_number_check_catches_what_it_should() {
    // a bare measured number, and one whose named figure disagrees
    let text = "Decode runs at 19.4 tokens per second.\n\n\
                Per `figures/bench-table.txt`, decode runs at 99.9 tok/s.\n\n\
                | mix | KLD |\n|---|---:|\n| Q8_0 | 0.0015 |\n";
    let problems = unsourced_numbers("x.md", text);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[1].contains("99.9 is not in book/src/figures/bench-table.txt"));
    // what the figure says, rounded as prose rounds, passes; so do markers
    // (the decode speed the figure holds now, as prose would round it)
    let table = fs::read_to_string(figures().join("bench-table.txt")).unwrap();
    let tg128 = table.split("tg128 |").nth(1).unwrap().trim_start();
    let tg128: f64 = tg128[..tg128.find(' ').unwrap()].parse().unwrap();
    let ok = format!(
        "Per `figures/bench-table.txt`, decode runs at {tg128:.1} tok/s and the \
         ceiling is {{{{measure bench-table.txt \"ceiling\"}}}} tok/s.\n\n\
         At 50 GB/s that is, computed, 12 tokens per second.\n"
    );
    assert_eq!(unsourced_numbers("x.md", &ok), Vec::<String>::new());
    assert!(appears_in("0.0003", "\"kld_mean\": 0.000277,"));
    assert!(appears_in(
        "0.000001",
        "\"kld_mean\": 9.813589955691647e-07"
    ));
    assert!(!appears_in("0.094", "0.05822"));
}
