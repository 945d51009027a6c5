//! mdBook preprocessor (`[preprocessor.measures]` in book/book.toml):
//! `locallm-book supports RENDERER` says yes to every renderer; plain
//! `locallm-book` reads mdBook's `[context, book]` JSON on stdin, replaces the
//! `{{measure ...}}` markers of every chapter, captions its listings of the
//! repository's code, and writes the book back. It runs before mdBook's own
//! `links` preprocessor, so it sees each `{{#include}}` as written.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("supports") {
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("locallm-book: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let [context, mut book]: [Value; 2] = serde_json::from_str(&input)?;
    let root = PathBuf::from(context["root"].as_str().ok_or("no root in the context")?);
    let src = context["config"]["book"]["src"].as_str().unwrap_or("src");
    let figures = root.join(src).join("figures");
    substitute_chapters(&mut book, &figures)?;
    serde_json::to_writer(std::io::stdout(), &book)?;
    Ok(())
}

/// Every `Chapter`'s `content`, wherever it sits in the tree of sections.
fn substitute_chapters(
    value: &mut Value,
    figures: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(chapter)) = map.get_mut("Chapter") {
                let title = chapter["name"].as_str().unwrap_or("").to_string();
                let path = chapter["path"].as_str().unwrap_or("?").to_string();
                if let Some(Value::String(content)) = chapter.get_mut("content") {
                    let text = locallm_book::substitute(content, figures)
                        .map_err(|e| format!("{path}: {e}"))?;
                    let label = locallm_book::chapter_label(&title);
                    *content = locallm_book::caption_listings(&text, label);
                }
            }
            for child in map.values_mut() {
                substitute_chapters(child, figures)?;
            }
        }
        Value::Array(items) => {
            for child in items {
                substitute_chapters(child, figures)?;
            }
        }
        _ => {}
    }
    Ok(())
}
