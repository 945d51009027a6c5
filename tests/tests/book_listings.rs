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

/// A line with its inline code spans (`` `...` ``) blanked out, so that a
/// link shown as code is not taken for a link.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find('`') {
        out.push_str(&rest[..at]);
        let ticks = rest[at..].chars().take_while(|&c| c == '`').count();
        let fence = &rest[at..at + ticks];
        let after = &rest[at + ticks..];
        match after.find(fence) {
            Some(end) => rest = &after[end + ticks..],
            None => {
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The lines of a Markdown file outside fenced code blocks.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            lines.push((i + 1, line));
        }
    }
    lines
}

/// Targets of the `[text](target)` and `![alt](target)` links of one line.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code_spans(line);
    let mut found = Vec::new();
    let mut rest = line.as_str();
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].trim();
        // `(target "title")`: the target is the first word; `<target>` too
        let target = target.split_whitespace().next().unwrap_or("");
        found.push(target.trim_matches(['<', '>']).to_string());
        rest = &rest[end..];
    }
    found
}

/// The id mdBook gives a heading (`normalize_id`): lowercase, whitespace to
/// `-`, letters, digits, `_` and `-` kept, everything else dropped; the
/// heading's inline Markdown is rendered first, so only its text counts.
fn heading_id(heading: &str) -> String {
    let text = heading.trim();
    if let Some(custom) = text
        .strip_suffix('}')
        .and_then(|t| t.rsplit_once("{#"))
        .map(|(_, id)| id)
    {
        return custom.to_string();
    }
    // [text](url) renders as text
    let mut plain = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(mid) = rest[open..].find("](") else {
            break;
        };
        let Some(close) = rest[open + mid..].find(')') else {
            break;
        };
        plain.push_str(&rest[..open]);
        plain.push_str(&rest[open + 1..open + mid]);
        rest = &rest[open + mid + close + 1..];
    }
    plain.push_str(rest);
    plain
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_ascii_lowercase())
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// Every heading id of a Markdown file; a repeated id gets `-1`, `-2`, ...
/// as mdBook numbers them.
fn heading_ids(text: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || hashes > 6 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = heading_id(&line[hashes..]);
        let mut id = base.clone();
        let mut n = 0;
        while ids.contains(&id) {
            n += 1;
            id = format!("{base}-{n}");
        }
        ids.insert(id);
    }
    ids
}

/// Why `target`, linked from `from` (a file of book/src), points nowhere.
fn broken_link(from: &str, target: &str) -> Option<String> {
    if target.starts_with("http://") || target.starts_with("https://") {
        let host = target.split("://").nth(1).unwrap_or("");
        let host = host.split(['/', '#', '?']).next().unwrap_or("");
        let ok = host.contains('.') && !target.contains(char::is_whitespace);
        return (!ok).then(|| format!("malformed URL {target}"));
    }
    if target.starts_with("mailto:") {
        return None;
    }
    if target.is_empty() {
        return Some("an empty link target".into());
    }
    if target.contains("://") {
        return Some(format!("unexpected scheme in {target}"));
    }
    let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
    let file = if file.is_empty() { from } else { file };
    let path = book_src().join(file);
    let Ok(text) = fs::read_to_string(&path) else {
        return (!path.exists()).then(|| format!("{file} does not exist"));
    };
    if anchor.is_empty() || !file.ends_with(".md") {
        return None;
    }
    (!heading_ids(&text).contains(anchor)).then(|| format!("{file} has no heading #{anchor}"))
}

#[test]
fn every_link_points_at_an_existing_file_and_heading() {
    let mut files = chapter_files();
    files.insert("SUMMARY.md".into());
    let mut problems = Vec::new();
    let mut count = 0;
    for file in &files {
        let text = read(&book_src().join(file));
        for (line_no, line) in prose_lines(&text) {
            for target in link_targets(line) {
                count += 1;
                if let Some(why) = broken_link(file, &target) {
                    problems.push(format!("{file}:{line_no}: ({target}) {why}"));
                }
            }
        }
    }
    assert!(count > 0, "the book has no link");
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_link_checker_finds_what_mdbook_would_not() {
    // ids as mdBook makes them
    assert_eq!(
        heading_id(" What fits: 8 GB, 16 GB"),
        "what-fits-8-gb-16-gb"
    );
    assert_eq!(
        heading_id(" `locallm fits` in [a link](x.md)"),
        "locallm-fits-in-a-link"
    );
    assert_eq!(heading_id(" Custom {#my-id}"), "my-id");
    let ids = heading_ids("# A\n```\n# not a heading\n```\n## A\n#no space\n");
    assert_eq!(ids, BTreeSet::from(["a".to_string(), "a-1".to_string()]));
    // links in code are not links
    let line = "see [ch13](./ch13-token-economics.md#x) and `[no](nowhere.md)`";
    assert_eq!(link_targets(line), vec!["./ch13-token-economics.md#x"]);
    assert!(broken_link("SUMMARY.md", "./nowhere.md").is_some());
    assert!(broken_link("SUMMARY.md", "./dictionary.md").is_none());
    assert!(broken_link("dictionary.md", "#no-such-heading").is_some());
    assert!(broken_link("x.md", "https://example.com/a b").is_some());
    assert!(broken_link("x.md", "https://example.com/price").is_none());
}
