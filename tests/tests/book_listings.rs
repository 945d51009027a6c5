//! The book's listings and table of contents point at things that exist.
//!
//! mdBook renders an `{{#include file.rs:anchor}}` whose anchor is missing as
//! an empty listing, without failing the build; these tests turn that into a
//! failure, without needing mdBook installed.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The chapter files of book/src (every `.md` but SUMMARY.md).
fn chapter_files() -> BTreeSet<String> {
    fs::read_dir(book_src())
        .expect("book/src")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".md") && name != "SUMMARY.md")
        .collect()
}

/// The name after `marker` on a line (`// ANCHOR: name` -> `name`), as mdBook reads it.
fn anchor_name<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = line.split_once(marker)?.1.trim_start();
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name`, or `None` if
/// either marker is missing.
fn anchored_lines<'a>(source: &'a str, name: &str) -> Option<Vec<&'a str>> {
    let mut lines = source.lines();
    lines
        .by_ref()
        .find(|l| anchor_name(l, "ANCHOR:") == Some(name))?;
    let mut inside = Vec::new();
    for line in lines {
        if anchor_name(line, "ANCHOR_END:") == Some(name) {
            return Some(inside);
        }
        if !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:") {
            inside.push(line);
        }
    }
    None
}

/// Every `{{#include ...}}` / `{{#rustdoc_include ...}}` argument of a chapter.
fn includes(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for directive in ["{{#include ", "{{#rustdoc_include "] {
        let mut rest = text;
        while let Some(at) = rest.find(directive) {
            rest = &rest[at + directive.len()..];
            let end = rest.find("}}").expect("an include ends with }}");
            found.push(rest[..end].trim().to_string());
            rest = &rest[end..];
        }
    }
    found
}

#[test]
fn every_include_names_an_existing_file_and_anchor() {
    let mut problems = Vec::new();
    let mut count = 0;
    for chapter in chapter_files() {
        let text = read(&book_src().join(&chapter));
        for include in includes(&text) {
            count += 1;
            let (file, selector) = include.split_once(':').unwrap_or((&include, ""));
            let path = book_src().join(file);
            let Ok(source) = fs::read_to_string(&path) else {
                problems.push(format!("{chapter}: {file} does not exist"));
                continue;
            };
            // A selector of digits and colons is a line range; anything else an anchor.
            let is_range = selector.chars().all(|c| c.is_ascii_digit() || c == ':');
            if is_range {
                continue;
            }
            match anchored_lines(&source, selector) {
                None => problems.push(format!(
                    "{chapter}: {file} has no `ANCHOR: {selector}` ... `ANCHOR_END: {selector}`"
                )),
                Some(lines) if lines.iter().all(|l| l.trim().is_empty()) => problems.push(format!(
                    "{chapter}: the anchor {selector} in {file} is empty"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(count > 0, "the book includes no listing");
    assert!(
        problems.is_empty(),
        "book listings:\n{}",
        problems.join("\n")
    );
}

#[test]
fn summary_lists_every_chapter_file_once() {
    let summary = read(&book_src().join("SUMMARY.md"));
    let mut listed = Vec::new();
    for line in summary.lines() {
        if let Some((_, rest)) = line.split_once("](./") {
            let file = rest.split(')').next().expect("a link ends with )");
            listed.push(file.to_string());
        }
    }
    let unique: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(unique.len(), listed.len(), "SUMMARY.md lists a file twice");
    assert_eq!(
        unique,
        chapter_files(),
        "SUMMARY.md and the files of book/src differ"
    );
}
