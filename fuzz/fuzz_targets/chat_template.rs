//! The model's chat template (minijinja) rendering hostile messages:
//! template syntax, special tokens, odd roles, huge and empty content,
//! invalid tools JSON. Content is data, never template code: it must come
//! out verbatim in the prompt.
#![no_main]

#[path = "common.rs"]
mod common;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use locallm_tokenizer::Message;

#[derive(Arbitrary, Debug)]
struct Input {
    messages: Vec<(String, String)>,
    tools: Option<String>,
    add_generation_prompt: bool,
}

fuzz_target!(|input: Input| {
    let template = common::template();
    let messages: Vec<Message> = input
        .messages
        .iter()
        .map(|(role, content)| Message::new(role.clone(), content.clone()))
        .collect();
    let tools = input
        .tools
        .as_deref()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok());
    let Ok(text) =
        template.render_with_tools(&messages, tools.as_ref(), input.add_generation_prompt)
    else {
        return;
    };
    for m in &messages {
        if ["system", "user", "assistant"].contains(&m.role.as_str()) {
            assert!(
                text.contains(m.content.trim()),
                "content changed: {:?}",
                m.content
            );
        }
    }
});
