//! Chat templates: turn a conversation into the one string the model was
//! trained on.
//!
//! An instruct model does not see "messages"; it sees text with markers, e.g.
//! ChatML for SmolLM2:
//!
//! ```text
//! <|im_start|>system
//! You are helpful.<|im_end|>
//! <|im_start|>user
//! Hi!<|im_end|>
//! <|im_start|>assistant
//! ```
//!
//! The exact format ships with the model as a Jinja template in
//! `tokenizer.chat_template`. We render it with `minijinja`, giving it the
//! variables Hugging Face's `apply_chat_template` gives it, and the same
//! Jinja settings (`trim_blocks`, `lstrip_blocks`). Templates cannot include
//! other templates or read files: no loader is installed.

use crate::TokenizerError;
use locallm_quant::Metadata;
use minijinja::{Environment, ErrorKind, Value, context};
use serde::Serialize;

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// `system`, `user` or `assistant` (templates may know others, e.g. `tool`).
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

/// A compiled chat template, with the BOS/EOS text it may refer to.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

const NAME: &str = "chat_template";

impl ChatTemplate {
    /// Compile `source`. `bos_token` and `eos_token` are the texts of the
    /// model's BOS/EOS tokens (empty if it has none).
    pub fn new(
        source: &str,
        bos_token: impl Into<String>,
        eos_token: impl Into<String>,
    ) -> Result<Self, TokenizerError> {
        let mut env = Environment::new();
        // Hugging Face renders with these two Jinja options on.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // Python string methods (`.strip()`, `.startswith()`, ...) that many
        // templates call.
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_template_owned(NAME, source.to_string())?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        })
    }

    /// The template in `tokenizer.chat_template`, with the texts of the
    /// tokens named by `tokenizer.ggml.bos_token_id` / `eos_token_id`.
    pub fn from_metadata(metadata: &Metadata) -> Result<Self, TokenizerError> {
        let source = match metadata.get("tokenizer.chat_template") {
            None => return Err(TokenizerError::NoChatTemplate),
            Some(value) => value.as_str().ok_or(TokenizerError::WrongType {
                key: "tokenizer.chat_template",
                expected: "string",
            })?,
        };
        let token_text = |key: &str| {
            let id = metadata.get_u64(key)?;
            let tokens = metadata.get("tokenizer.ggml.tokens")?.as_array()?;
            tokens.get(usize::try_from(id).ok()?)?.as_str()
        };
        Self::new(
            source,
            token_text("tokenizer.ggml.bos_token_id").unwrap_or(""),
            token_text("tokenizer.ggml.eos_token_id").unwrap_or(""),
        )
    }

    /// The conversation as prompt text. With `add_generation_prompt`, the
    /// text ends with the header of an assistant turn, for the model to go on.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, TokenizerError> {
        self.render_with_tools(messages, None, add_generation_prompt)
    }

    // ANCHOR: chat_render
    /// `render`, also passing `tools` (JSON tool descriptions) to templates
    /// that support tool calling.
    pub fn render_with_tools(
        &self,
        messages: &[Message],
        tools: Option<&serde_json::Value>,
        add_generation_prompt: bool,
    ) -> Result<String, TokenizerError> {
        let template = self.env.get_template(NAME)?;
        let variables = context! {
            messages => Value::from_serialize(messages),
            add_generation_prompt => add_generation_prompt,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        };
        // `tools` is left undefined (not `none`) when not given, as in
        // Hugging Face: templates test `tools is defined`.
        let variables = match tools {
            Some(tools) => context! { tools => Value::from_serialize(tools), ..variables },
            None => variables,
        };
        let text = template.render(variables)?;
        Ok(text)
    }
    // ANCHOR_END: chat_render
}

/// `raise_exception("...")`: templates call it to reject a conversation they
/// cannot format (e.g. two user turns in a row).
fn raise_exception(message: String) -> Result<Value, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_sees_messages_and_flags() {
        let t = ChatTemplate::new(
            "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content.strip() }}]{% endfor %}\
             {% if add_generation_prompt %}>{% endif %}{% if tools is defined %}T{% endif %}",
            "<s>",
            "</s>",
        )
        .unwrap();
        let msgs = [Message::system(" be brief "), Message::user("hi")];
        assert_eq!(
            t.render(&msgs, true).unwrap(),
            "<s>[system:be brief][user:hi]>"
        );
        assert_eq!(
            t.render(&msgs, false).unwrap(),
            "<s>[system:be brief][user:hi]"
        );
        let tools = serde_json::json!([{"name": "f"}]);
        assert!(
            t.render_with_tools(&msgs, Some(&tools), false)
                .unwrap()
                .ends_with('T')
        );
    }

    #[test]
    fn raise_exception_is_an_error_not_a_panic() {
        let t = ChatTemplate::new("{{ raise_exception('only user turns') }}", "", "").unwrap();
        let err = t.render(&[], false).unwrap_err();
        assert!(err.to_string().contains("only user turns"), "{err}");
    }

    #[test]
    fn broken_template_is_an_error() {
        assert!(matches!(
            ChatTemplate::new("{% for %}", "", ""),
            Err(TokenizerError::Template(_))
        ));
    }
}
