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
//! `tokenizer.chat_template`. We render it with `minijinja` in the
//! environment Hugging Face transformers renders it in (its
//! `_compile_jinja_template` and `render_jinja_template`): the Jinja settings
//! `trim_blocks` and `lstrip_blocks`; the variables `messages`, `tools`
//! (`none` when not given), `documents` (`none`), `add_generation_prompt`,
//! `bos_token`, `eos_token`; the functions `raise_exception` (a template's
//! refusal of the conversation, returned as
//! [`TokenizerError::TemplateRefused`] with its message) and
//! `strftime_now`; and a `tojson` that writes what Python's `json.dumps`
//! writes, not minijinja's compact, HTML-escaped JSON. The golden test
//! (tests/chat_template_golden.rs) checks the output byte for byte against
//! Python's jinja2 in that environment. Templates cannot include other
//! templates or read files: no loader is installed.

use crate::TokenizerError;
use chrono::NaiveDateTime;
use chrono::format::{Item, StrftimeItems};
use locallm_quant::Metadata;
use minijinja::value::{Kwargs, ValueKind};
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
        env.add_function("strftime_now", |format: String| {
            strftime(chrono::Local::now().naive_local(), &format)
        });
        env.add_filter("tojson", tojson);
        env.add_template_owned(NAME, source.to_string())?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        })
    }

    /// Makes `strftime_now` read `now` instead of the local clock (as
    /// `datetime.now()` does), so that a rendering can be reproduced.
    pub fn with_fixed_time(mut self, now: NaiveDateTime) -> Self {
        self.env
            .add_function("strftime_now", move |format: String| strftime(now, &format));
        self
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
        // `tools` is `none` (defined, false) when not given, as transformers
        // passes it; templates test `if tools` or `tools is not none`.
        let variables = context! {
            messages => Value::from_serialize(messages),
            tools => tools.map(Value::from_serialize),
            documents => Value::from(()),
            add_generation_prompt => add_generation_prompt,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        };
        template.render(variables).map_err(|e| match raised(&e) {
            Some(message) => TokenizerError::TemplateRefused(message.to_string()),
            None => TokenizerError::Template(e),
        })
    }
    // ANCHOR_END: chat_render
}

/// `raise_exception("...")`: templates call it to reject a conversation they
/// cannot format (e.g. two user turns in a row). The message travels as the
/// error's source, so that `render` can tell the template's own refusal
/// (the user's conversation is the problem) from a broken template.
fn raise_exception(message: String) -> Result<Value, minijinja::Error> {
    Err(
        minijinja::Error::new(ErrorKind::InvalidOperation, message.clone())
            .with_source(Raised(message)),
    )
}

/// The message a template passed to `raise_exception`.
#[derive(Debug)]
struct Raised(String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

/// The `raise_exception` message behind `e`, if the template raised it.
fn raised(e: &minijinja::Error) -> Option<&str> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(Raised(message)) = s.downcast_ref::<Raised>() {
            return Some(message);
        }
        source = s.source();
    }
    None
}

/// `strftime_now(format)`: Python's `datetime.strftime` of `now`; chrono
/// reads the same `%` directives (in the C locale). An unknown directive is
/// an error, not a panic.
fn strftime(now: NaiveDateTime, format: &str) -> Result<String, minijinja::Error> {
    let items: Vec<Item> = StrftimeItems::new(format).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("strftime_now: bad format {format:?}"),
        ));
    }
    Ok(now.format_with_items(items.into_iter()).to_string())
}

/// `value | tojson(indent=None, separators=None, sort_keys=False,
/// ensure_ascii=False)` as transformers defines it: Python's `json.dumps`.
/// Its separators are `", "` and `": "` (`","` between items when indented),
/// and it escapes neither HTML characters nor non-ASCII text.
fn tojson(value: &Value, kwargs: Kwargs) -> Result<Value, minijinja::Error> {
    let indent: Option<Value> = kwargs.get("indent")?;
    let separators: Option<Vec<String>> = kwargs.get("separators")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        // an int is that many spaces, a string is used as it is
        Some(v) => Some(match v.as_str() {
            Some(s) => s.to_string(),
            None => " ".repeat(usize::try_from(v)?),
        }),
    };
    let (item_sep, key_sep) = match separators.as_deref() {
        Some([item, key]) => (item.clone(), key.clone()),
        Some(_) => {
            return Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                "tojson: separators must be two strings",
            ));
        }
        None if indent.is_some() => (",".into(), ": ".into()),
        None => (", ".into(), ": ".into()),
    };
    let style = JsonStyle {
        indent,
        item_sep,
        key_sep,
        sort_keys: sort_keys.unwrap_or(false),
        ensure_ascii: ensure_ascii.unwrap_or(false),
    };
    let mut out = String::new();
    style.write(value, 0, &mut out)?;
    Ok(Value::from_safe_string(out))
}

struct JsonStyle {
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
    ensure_ascii: bool,
}

impl JsonStyle {
    fn write(&self, v: &Value, depth: usize, out: &mut String) -> Result<(), minijinja::Error> {
        match v.kind() {
            ValueKind::Undefined | ValueKind::None => out.push_str("null"),
            ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
            ValueKind::Number => match f64::try_from(v.clone()) {
                Ok(f) if !v.is_integer() => out.push_str(&python_float(f)),
                _ => out.push_str(&v.to_string()),
            },
            ValueKind::String => self.string(v.as_str().unwrap_or_default(), out),
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = v.try_iter()?.collect();
                self.container(('[', ']'), &items, depth, out, |item, d, out| {
                    self.write(item, d, out)
                })?;
            }
            ValueKind::Map => {
                let mut keys: Vec<Value> = v.try_iter()?.collect();
                if self.sort_keys {
                    keys.sort();
                }
                self.container(('{', '}'), &keys, depth, out, |key, d, out| {
                    self.string(&key.to_string(), out);
                    out.push_str(&self.key_sep);
                    self.write(&v.get_item(key)?, d, out)
                })?;
            }
            _ => {
                return Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("tojson: cannot serialize a {}", v.kind()),
                ));
            }
        }
        Ok(())
    }

    /// `[a, b]`, or with an indent each item on its own line.
    fn container(
        &self,
        (open, close): (char, char),
        items: &[Value],
        depth: usize,
        out: &mut String,
        mut each: impl FnMut(&Value, usize, &mut String) -> Result<(), minijinja::Error>,
    ) -> Result<(), minijinja::Error> {
        out.push(open);
        if items.is_empty() {
            out.push(close);
            return Ok(());
        }
        let newline = |out: &mut String, d: usize| {
            if let Some(indent) = &self.indent {
                out.push('\n');
                out.push_str(&indent.repeat(d));
            }
        };
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(&self.item_sep);
            }
            newline(out, depth + 1);
            each(item, depth + 1, out)?;
        }
        newline(out, depth);
        out.push(close);
        Ok(())
    }

    /// A JSON string as `json.dumps` writes it.
    fn string(&self, s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || (self.ensure_ascii && !c.is_ascii()) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// Python's `repr` of a float: the shortest digits that read back, in
/// scientific notation below 1e-4 and from 1e16 on; `NaN` and `Infinity`
/// as `json.dumps` writes them.
fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Rust's `{:e}` is shortest round-trip too: 1e-5, 1.5e16
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').expect("{:e} has an exponent");
        let exp: i32 = exp.parse().expect("integer exponent");
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let s = format!("{f}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_sees_messages_and_flags() {
        let t = ChatTemplate::new(
            "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content.strip() }}]{% endfor %}\
             {% if add_generation_prompt %}>{% endif %}{% if tools %}T{% endif %}\
             {% if tools is none %}N{% endif %}",
            "<s>",
            "</s>",
        )
        .unwrap();
        let msgs = [Message::system(" be brief "), Message::user("hi")];
        assert_eq!(
            t.render(&msgs, true).unwrap(),
            "<s>[system:be brief][user:hi]>N"
        );
        // no tools: `tools` is none, not undefined, as transformers passes it
        assert_eq!(
            t.render(&msgs, false).unwrap(),
            "<s>[system:be brief][user:hi]N"
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
        assert!(
            matches!(&err, TokenizerError::TemplateRefused(m) if m == "only user turns"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "the model's chat template refuses this conversation: only user turns"
        );
        // Raised inside a macro, a loop and an `if`, it is still the
        // template's refusal, not a broken template.
        let t = ChatTemplate::new(
            "{% macro check(m) %}{% if m.role == 'system' %}{{ raise_exception('no system') }}\
             {% endif %}{% endmacro %}{% for m in messages %}{{ check(m) }}{% endfor %}",
            "",
            "",
        )
        .unwrap();
        let err = t.render(&[Message::system("x")], false).unwrap_err();
        assert!(
            matches!(&err, TokenizerError::TemplateRefused(m) if m == "no system"),
            "{err:?}"
        );
        // An error of the template itself stays a template error.
        let t = ChatTemplate::new("{{ messages[0].content.nosuchmethod() }}", "", "").unwrap();
        assert!(matches!(
            t.render(&[Message::user("x")], false),
            Err(TokenizerError::Template(_))
        ));
    }

    #[test]
    fn broken_template_is_an_error() {
        assert!(matches!(
            ChatTemplate::new("{% for %}", "", ""),
            Err(TokenizerError::Template(_))
        ));
    }
}
