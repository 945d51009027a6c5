//! Training data: the JSONL shapes people already have, turned into tokens.
//!
//! Two line formats are accepted:
//!
//! - OpenAI's chat fine-tuning format,
//!   `{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}`;
//! - `{"prompt": "...", "completion": "..."}`, read as one user turn and one
//!   assistant turn.
//!
//! A conversation is rendered with the model's own chat template, exactly as
//! at inference, and only the tokens the *assistant* wrote are learned: the
//! loss is masked everywhere else. The answer's end-of-turn token is learned
//! too — it is how the model learns to stop.

use std::path::Path;

use locallm_tokenizer::{Message, Tokenizer};
use serde_json::Value;

use crate::{LoraError, io_err};

/// One bad line of a data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {errors} bad line(s), the first at {first}")]
    Rejected {
        path: String,
        errors: usize,
        first: LineError,
    },
    #[error("{0}: no usable examples")]
    Empty(String),
}

/// A tokenized conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The line it came from.
    pub line: usize,
    pub tokens: Vec<u32>,
    /// `learn[i]`: token `i` was written by the assistant, so predicting it
    /// (from the tokens before) counts in the loss.
    pub learn: Vec<bool>,
}

impl Example {
    /// Number of tokens that count in the loss.
    pub fn n_learned(&self) -> usize {
        self.learn.iter().filter(|&&l| l).count()
    }
}

/// Parses one JSONL line into messages.
pub fn parse_line(text: &str) -> Result<Vec<Message>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let string = |v: &Value, field: &str| -> Result<String, String> {
        v.get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("missing string field `{field}`"))
    };
    let messages = if let Some(list) = v.get("messages") {
        let list = list.as_array().ok_or("`messages` is not a list")?;
        list.iter()
            .map(|m| Ok(Message::new(string(m, "role")?, string(m, "content")?)))
            .collect::<Result<Vec<_>, String>>()?
    } else if v.get("prompt").is_some() || v.get("completion").is_some() {
        vec![
            Message::user(string(&v, "prompt")?),
            Message::assistant(string(&v, "completion")?),
        ]
    } else {
        return Err("expected `messages`, or `prompt` and `completion`".into());
    };
    if let Some(m) = messages
        .iter()
        .find(|m| !["system", "user", "assistant"].contains(&m.role.as_str()))
    {
        return Err(format!("unknown role `{}`", m.role));
    }
    if !messages.iter().any(|m| m.role == "assistant") {
        return Err("no assistant message to learn from".into());
    }
    Ok(messages)
}

/// Every non-empty line parsed: the good ones with their line numbers, and the bad ones.
pub fn parse_jsonl(text: &str) -> (Vec<(usize, Vec<Message>)>, Vec<LineError>) {
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(m) => good.push((i + 1, m)),
            Err(reason) => bad.push(LineError {
                line: i + 1,
                reason,
            }),
        }
    }
    (good, bad)
}

// ANCHOR: tokenize_chat
/// Tokens of a conversation and which of them the assistant wrote.
///
/// For each assistant turn `k` the template renders the conversation before
/// it with the generation prompt (what the model is shown at inference) and
/// the conversation including it; the difference is the answer, and the
/// answer's tokens are appended exactly as generation would produce them.
pub fn tokenize_chat(
    tokenizer: &Tokenizer,
    messages: &[Message],
) -> Result<(Vec<u32>, Vec<bool>), LoraError> {
    let template = tokenizer.chat_template()?;
    let mut tokens: Vec<u32> = tokenizer
        .bos_id()
        .filter(|_| tokenizer.add_bos_token())
        .into_iter()
        .collect();
    let mut learn = vec![false; tokens.len()];
    let mut done = String::new(); // the text tokenized so far
    for k in (0..messages.len()).filter(|&k| messages[k].role == "assistant") {
        let prompt = template.render(&messages[..k], true)?;
        let full = template.render(&messages[..=k], false)?;
        if !prompt.starts_with(&done) || !full.starts_with(&prompt) {
            return Err(LoraError::Config(
                "the chat template does not render turns as prefixes of each other".into(),
            ));
        }
        for (text, is_answer) in [
            (&prompt[done.len()..], false),
            (&full[prompt.len()..], true),
        ] {
            let ids = tokenizer.encode(text, true)?;
            learn.extend(std::iter::repeat_n(is_answer, ids.len()));
            tokens.extend(ids);
        }
        done = full;
    }
    Ok((tokens, learn))
}
// ANCHOR_END: tokenize_chat

/// Reads and tokenizes a JSONL file. Bad lines (invalid JSON, missing
/// fields, longer than `max_len` tokens) are returned with their line
/// numbers; with `strict`, any bad line rejects the whole file instead.
pub fn load_jsonl(
    path: &Path,
    tokenizer: &Tokenizer,
    max_len: usize,
    strict: bool,
) -> Result<(Vec<Example>, Vec<LineError>), LoraError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let (good, mut bad) = parse_jsonl(&text);
    let mut examples = Vec::with_capacity(good.len());
    for (line, messages) in good {
        let (tokens, learn) = tokenize_chat(tokenizer, &messages)?;
        if tokens.len() > max_len {
            let reason = format!("{} tokens, over the context of {max_len}", tokens.len());
            bad.push(LineError { line, reason });
        } else {
            examples.push(Example {
                line,
                tokens,
                learn,
            });
        }
    }
    bad.sort_by_key(|e| e.line);
    let shown = path.display().to_string();
    if strict && let Some(first) = bad.first() {
        return Err(DataError::Rejected {
            path: shown,
            errors: bad.len(),
            first: first.clone(),
        }
        .into());
    }
    if examples.is_empty() {
        return Err(DataError::Empty(shown).into());
    }
    Ok((examples, bad))
}
