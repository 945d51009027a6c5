//! The README's tables match the tree: its crate table lists the workspace's
//! packages, each with its own test command, and its chapter table is the
//! book's SUMMARY.md. (Its commands run in `crates/cli/tests/docs_commands.rs`.)

mod common;
use common::{read, workspace_packages};

/// The rows of the first Markdown table whose header row is `header`, as
/// trimmed cells.
fn table(text: &str, header: &str) -> Vec<Vec<String>> {
    let mut lines = text.lines().skip_while(|l| l.trim() != header);
    assert!(lines.next().is_some(), "no table headed {header}");
    lines
        .skip(1) // |---|
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn the_crate_table_lists_every_workspace_package_with_its_test_command() {
    let rows = table(&read("README.md"), "| crate | what it holds | test it |");
    let mut listed = Vec::new();
    for row in &rows {
        let name = row[0].trim_matches('`').to_string();
        assert_eq!(
            row[2],
            format!("`cargo test -p {name}`"),
            "the test command of {name}"
        );
        listed.push(name);
    }
    listed.sort();
    assert_eq!(
        listed,
        workspace_packages(),
        "README crate table vs workspace"
    );
}

#[test]
fn the_chapter_table_is_the_summary() {
    let summary = read("book/src/SUMMARY.md");
    let expected: Vec<Vec<String>> = summary
        .lines()
        .filter_map(|l| {
            let (title, rest) = l
                .split_once("- [")
                .or_else(|| l.split_once("["))?
                .1
                .split_once("](./")?;
            let file = rest.strip_suffix(')')?;
            let (number, name) = title.split_once(' ')?;
            Some(vec![
                number.to_string(),
                format!("[{name}](book/src/{file})"),
            ])
        })
        .collect();
    assert!(
        expected.len() > 30,
        "SUMMARY.md lists {} chapters",
        expected.len()
    );
    let rows = table(&read("README.md"), "| # | chapter |");
    let show = |rows: &[Vec<String>]| {
        rows.iter()
            .map(|r| format!("| {} |", r.join(" | ")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        rows,
        expected,
        "README's chapter table differs from SUMMARY.md; it should read:\n{}",
        show(&expected)
    );
}
