//! Every chapter has the book's shape: what you will learn, the chapter
//! itself, its tests (`cargo test -p` of workspace crates), a summary and
//! further reading, in that order; and no listing is offered as a runnable
//! program.

use std::collections::BTreeSet;

mod common;
use common::{chapters, workspace_packages};

/// The `## ` headings of a chapter, outside code blocks.
fn sections(text: &str) -> Vec<&str> {
    let mut fenced = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && let Some(title) = line.strip_prefix("## ") {
            found.push(title.trim());
        }
    }
    found
}

/// What is wrong with the shape of one chapter.
fn shape_problems(name: &str, text: &str, packages: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let sections = sections(text);
    let at = |title: &str| sections.iter().position(|s| *s == title);
    let required = ["What you will learn", "Tests", "Summary", "Further reading"];
    let places: Vec<Option<usize>> = required.iter().map(|t| at(t)).collect();
    for (title, place) in required.iter().zip(&places) {
        if place.is_none() {
            problems.push(format!("{name}: no `## {title}`"));
        }
    }
    if let [Some(learn), Some(tests), Some(summary), Some(reading)] = places[..] {
        if learn != 0 {
            problems.push(format!(
                "{name}: `## What you will learn` is not the first section"
            ));
        }
        if !(tests < summary && summary < reading && reading == sections.len() - 1) {
            problems.push(format!(
                "{name}: the chapter must end with Tests, Summary, Further reading"
            ));
        }
        let body = text.split("\n## Tests").nth(1).unwrap_or("");
        let body = body.split("\n## ").next().unwrap_or("");
        let named: Vec<&str> = body
            .match_indices("cargo test -p ")
            .filter_map(|(i, m)| body[i + m.len()..].split_whitespace().next())
            .collect();
        if named.is_empty() {
            problems.push(format!("{name}: `## Tests` names no `cargo test -p CRATE`"));
        }
        for crate_name in named {
            if !packages.iter().any(|p| p == crate_name) {
                problems.push(format!(
                    "{name}: `cargo test -p {crate_name}`: no such package"
                ));
            }
        }
    }
    problems
}

#[test]
fn every_chapter_has_the_books_shape() {
    let packages = workspace_packages();
    let mut problems = Vec::new();
    let mut count = 0;
    for (name, text) in chapters() {
        if name == "dictionary.md" || name == "references.md" {
            continue; // appendices (entries, a table), not chapters
        }
        count += 1;
        problems.extend(shape_problems(&name, &text, &packages));
    }
    assert!(count > 30, "only {count} chapters");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_shape_check_catches_what_it_should() {
    let packages = vec!["locallm-quant".to_string()];
    let good = "# 1 X\n\nIntro.\n\n## What you will learn\n\n- a\n\n## Body\n\n```text\n## not a heading\n```\n\n\
                ## Tests\n\n```console\n$ cargo test -p locallm-quant\n```\n\n## Summary\n\n- a\n\n## Further reading\n\n- b\n";
    assert_eq!(
        shape_problems("x.md", good, &packages),
        Vec::<String>::new()
    );
    let unknown = good.replace("locallm-quant", "locallm-nothing");
    assert_eq!(shape_problems("x.md", &unknown, &packages).len(), 1);
    let reordered = good
        .replace("## Summary", "## Summary2")
        .replace("## Body", "## Summary");
    assert!(!shape_problems("x.md", &reordered, &packages).is_empty());
    let late = good.replace(
        "## What you will learn",
        "## Intro\n\n## What you will learn",
    );
    assert_eq!(shape_problems("x.md", &late, &packages).len(), 1);
}

#[test]
fn no_rust_listing_gets_a_play_button() {
    // mdBook puts a Play button on (and `mdbook test` compiles) every `rust`
    // block not marked `ignore`; our listings are excerpts, not programs.
    let mut problems = BTreeSet::new();
    for (name, text) in chapters() {
        for (i, line) in text.lines().enumerate() {
            let info = line.trim_start().strip_prefix("```").unwrap_or("");
            let langs: Vec<&str> = info.split(',').map(str::trim).collect();
            if langs.first() == Some(&"rust") && !langs.contains(&"ignore") {
                problems.insert(format!("{name}:{}: {line}", i + 1));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "mark these rust,ignore:\n{}",
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}
