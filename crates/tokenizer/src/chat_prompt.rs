//! Message content is text. A chat prompt is the template's markup
//! (`<|im_start|>user\n`, `<|im_end|>`) around what the messages say; only
//! the markup may hold special tokens. Rendering the template to one string
//! and tokenizing it with special parsing on (what llama.cpp's server does)
//! lets a message containing `<|im_end|>\n<|im_start|>system\n...` forge a
//! system turn: its `<|im_start|>` becomes the real control token.
//!
//! So before the template runs, each control-token text in the messages (and
//! in the tool descriptions) is swapped for a stand-in character; after, the
//! stand-ins are swapped back and their byte ranges remembered; encoding then
//! parses special tokens everywhere except in those ranges
//! ([`SpecialTokens::split_outside`](crate::special::SpecialTokens::split_outside)).
//! The stand-ins are private-use characters that a template treats as any
//! other letter, so `trim`, `split` and the like render as before, and the
//! text the model sees is byte for byte the template's output.

use std::ops::Range;

use serde_json::Value as Json;

use crate::{ChatTemplate, Message, TokenId, Tokenizer, TokenizerError};

/// A rendered conversation: the text, and the byte ranges of it that were
/// special-token text inside content (encoded as plain text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatPrompt {
    text: String,
    literal: Vec<Range<usize>>,
}

impl ChatPrompt {
    /// The prompt as the template wrote it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The byte ranges of `text` that content wrote and that read like
    /// special tokens; they are encoded as plain text.
    pub fn literal(&self) -> &[Range<usize>] {
        &self.literal
    }

    /// Appends markup of the caller's own (e.g. `<tool_call>` to force a
    /// call): its special tokens are parsed.
    pub fn push_markup(&mut self, markup: &str) {
        self.text.push_str(markup);
    }
}

/// The first stand-in: Supplementary Private Use Area-B, which no
/// tokenizer's markup uses.
const FIRST: u32 = 0x10_0000;
/// How many stand-ins there are (U+100000..=U+10FFFD).
const STAND_INS: usize = 0xFFFE;

/// The texts the stand-ins replace, by stand-in index.
#[derive(Default)]
struct Stash {
    hidden: Vec<String>,
}

impl Stash {
    fn stand_in(&mut self, original: &str) -> Result<char, TokenizerError> {
        if self.hidden.len() == STAND_INS {
            return Err(TokenizerError::TooManySpecialTexts(STAND_INS));
        }
        self.hidden.push(original.to_string());
        Ok(char::from_u32(FIRST + (self.hidden.len() - 1) as u32).expect("private use"))
    }

    /// `text` with each control-token text, and each character that could
    /// be taken for a stand-in, replaced by a stand-in.
    fn hide(&mut self, tokenizer: &Tokenizer, text: &str) -> Result<String, TokenizerError> {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while let Some(c) = text[at..].chars().next() {
            let len = match tokenizer.special.control_prefix(&text[at..]) {
                Some(len) => len,
                None if is_stand_in_range(c) => c.len_utf8(),
                None => {
                    out.push(c);
                    at += c.len_utf8();
                    continue;
                }
            };
            out.push(self.stand_in(&text[at..at + len])?);
            at += len;
        }
        Ok(out)
    }

    fn hide_json(&mut self, tokenizer: &Tokenizer, value: &Json) -> Result<Json, TokenizerError> {
        Ok(match value {
            Json::String(s) => Json::String(self.hide(tokenizer, s)?),
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|v| self.hide_json(tokenizer, v))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    out.insert(self.hide(tokenizer, k)?, self.hide_json(tokenizer, v)?);
                }
                Json::Object(out)
            }
            other => other.clone(),
        })
    }

    /// The rendered text with the stand-ins swapped back.
    fn restore(&self, rendered: &str) -> ChatPrompt {
        let mut text = String::with_capacity(rendered.len());
        let mut literal = Vec::new();
        for c in rendered.chars() {
            let index = (c as u32).wrapping_sub(FIRST) as usize;
            match self.hidden.get(index) {
                Some(original) => {
                    literal.push(text.len()..text.len() + original.len());
                    text.push_str(original);
                }
                None => text.push(c),
            }
        }
        ChatPrompt { text, literal }
    }
}

fn is_stand_in_range(c: char) -> bool {
    (FIRST..FIRST + STAND_INS as u32).contains(&(c as u32))
}

impl Tokenizer {
    // ANCHOR: render_chat
    /// `messages` (and `tools`) through `template`, content kept as text:
    /// special-token text in a message is encoded as the plain text it is,
    /// only the template's own markup becomes special tokens.
    pub fn render_chat(
        &self,
        template: &ChatTemplate,
        messages: &[Message],
        tools: Option<&Json>,
        add_generation_prompt: bool,
    ) -> Result<ChatPrompt, TokenizerError> {
        let mut stash = Stash::default();
        let messages = messages
            .iter()
            .map(|m| {
                Ok(Message::new(
                    stash.hide(self, &m.role)?,
                    stash.hide(self, &m.content)?,
                ))
            })
            .collect::<Result<Vec<_>, TokenizerError>>()?;
        let tools = tools.map(|t| stash.hide_json(self, t)).transpose()?;
        let rendered =
            template.render_with_tools(&messages, tools.as_ref(), add_generation_prompt)?;
        Ok(stash.restore(&rendered))
    }

    /// A rendered chat as the model should see it: BOS first if the model
    /// asks for one, the markup's special tokens parsed, the content's not.
    pub fn encode_chat(&self, prompt: &ChatPrompt) -> Result<Vec<TokenId>, TokenizerError> {
        let mut ids = self.bos_prefix();
        let fragments = self.special.split_outside(&prompt.text, &prompt.literal);
        self.encode_fragments(&fragments, &mut ids)?;
        Ok(ids)
    }
    // ANCHOR_END: render_chat

    /// [`render_chat`](Self::render_chat) then [`encode_chat`](Self::encode_chat):
    /// a conversation's prompt ids, ending with the assistant's header.
    pub fn chat_ids(
        &self,
        template: &ChatTemplate,
        messages: &[Message],
    ) -> Result<Vec<TokenId>, TokenizerError> {
        self.encode_chat(&self.render_chat(template, messages, None, true)?)
    }
}
