//! Chapter 0.2 exercise: the JSON the chat page sends.
//!
//! The page keeps the whole conversation and sends all of it with every
//! question, as one JSON object:
//!
//! ```text
//! {"model":"smollm2","messages":[{"role":"user","content":"Hi"}],"stream":true}
//! ```
//!
//! The page has `JSON.stringify` for that; here you write the JSON yourself.
//! The hard part is the text of a message: it may hold anything a person
//! types or pastes (quotes, backslashes, new lines, tabs, emoji), and a
//! JSON string has rules for what may appear between its double quotes
//! (RFC 8259, section 7):
//!
//! - `"` and `\` must be escaped with a backslash;
//! - every control character (U+0000 to U+001F) must be escaped: `\n`,
//!   `\r`, `\t`, `\b` and `\f` have short forms, the others are written as
//!   `\u` and four hexadecimal digits (U+0001 is `\u0001`);
//! - everything else (é, 🦀, `/`, U+007F) may appear as it is: JSON text is
//!   UTF-8.
//!
//! Check your work with `./check.sh ch00-2-chat-body` (from `exercises/`).
//! The tests read what you write back with `serde_json`, a real JSON parser,
//! and compare it with what you were given.

/// One message of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// `system`, `user` or `assistant`.
    pub role: &'a str,
    pub content: &'a str,
}

/// `text` as a JSON string, quotes included: `He said "hi"` becomes
/// `"He said \"hi\""`.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The request body: an object with `model`, `messages` (each an object
/// with `role` and `content`, in order) and `stream`.
pub fn chat_body(model: &str, messages: &[Message], stream: bool) -> String {
    let messages: Vec<String> = messages
        .iter()
        .map(|m| {
            format!(
                "{{\"role\":{},\"content\":{}}}",
                json_string(m.role),
                json_string(m.content)
            )
        })
        .collect();
    format!(
        "{{\"model\":{},\"messages\":[{}],\"stream\":{stream}}}",
        json_string(model),
        messages.join(",")
    )
}
