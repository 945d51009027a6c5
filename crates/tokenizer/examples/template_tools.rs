//! Which chat templates can offer tools to their model (chapter 25): each
//! template of the golden set (tests/golden/chat_templates, the families'
//! official templates) rendered with and without a tool list, and with and
//! without a tool result, by our renderer, which the golden test holds
//! byte-identical to jinja2.
//!
//! The book includes its output, committed as a figure:
//!
//! `cargo run -p locallm-tokenizer --example template_tools > book/src/figures/template-tools.md`
//!
//! and `tests/book_figures.rs` fails when the committed figure is not
//! what this program prints.

use std::path::PathBuf;

use locallm_tokenizer::{ChatTemplate, Message, TokenizerError};
use serde_json::Value;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/chat_templates")
}

/// One cell: what the template does with the conversation.
fn effect(
    with: Result<String, TokenizerError>,
    without: Result<String, TokenizerError>,
) -> Result<String, TokenizerError> {
    Ok(match (with, without?) {
        (Ok(a), b) if a == b => "ignored".to_string(),
        (Ok(_), _) => "yes".to_string(),
        (Err(TokenizerError::TemplateRefused(why)), _) => format!("refused: \"{why}\""),
        (Err(e), _) => return Err(e),
    })
}

/// The figure: a Markdown table, one row per template.
pub fn render() -> Result<String, Box<dyn std::error::Error>> {
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(golden_dir().join("renders.json"))?)?;
    let now = chrono::NaiveDateTime::parse_from_str(
        golden["now"].as_str().ok_or("now")?,
        "%Y-%m-%dT%H:%M:%S",
    )?;
    let tools = serde_json::json!([{
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }]);
    let asked = [Message::user("Weather in Oslo?")];
    let call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>";
    let answered = [
        Message::user("Weather in Oslo?"),
        Message::assistant(call),
        Message::new("tool", "-3 °C"),
    ];

    let mut out = String::from(
        "| template | a tool list reaches the prompt | a `tool` result reaches the prompt |\n|---|---|---|\n",
    );
    for t in golden["templates"].as_array().ok_or("templates")? {
        let file = t["template_file"].as_str().ok_or("template_file")?;
        let source = std::fs::read_to_string(golden_dir().join(file))?;
        let template = ChatTemplate::new(
            &source,
            t["bos_token"].as_str().unwrap_or(""),
            t["eos_token"].as_str().unwrap_or(""),
        )?
        .with_fixed_time(now);
        let offered = effect(
            template.render_with_tools(&asked, Some(&tools), true),
            template.render(&asked, true),
        )?;
        let result = effect(
            template.render_with_tools(&answered, Some(&tools), true),
            template.render_with_tools(&answered[..2], Some(&tools), true),
        )?;
        out.push_str(&format!("| `{file}` | {offered} | {result} |\n"));
    }
    Ok(out)
}

#[allow(dead_code)] // the test includes this file for `render` alone
fn main() -> Result<(), Box<dyn std::error::Error>> {
    print!("{}", render()?);
    Ok(())
}
