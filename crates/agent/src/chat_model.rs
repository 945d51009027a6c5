//! Whatever writes the assistant's turns: the [`ChatModel`] trait, so that
//! the loop can be tested with a scripted model, and [`LocalModel`], the
//! real one — the chat template, greedy decoding, constrained calls.

use std::sync::Arc;

use locallm_infer::{
    FinishReason, GenerateOptions, JsonConstraint, JsonGrammar, SamplerConfig, Session, TokenTrie,
};
use locallm_tokenizer::{ChatPrompt, ChatTemplate, Message, Tokenizer};

use crate::constraint::CallConstraint;
use crate::error::AgentError;
use crate::hermes::{CALL_CLOSE, CALL_OPEN};

/// Whatever writes the assistant's turns: the real model, or a script.
pub trait ChatModel {
    /// The next assistant turn after `messages`. With `constraint`, a call
    /// the turn makes is sampled under it.
    fn reply(
        &mut self,
        messages: &[Message],
        constraint: Option<&CallConstraint>,
    ) -> Result<String, AgentError>;
}

/// The real model behind [`ChatModel`]: the chat template, greedy decoding
/// by default, and constrained calls.
pub struct LocalModel<'s, 'm> {
    session: &'s mut Session<'m>,
    tokenizer: Arc<Tokenizer>,
    template: ChatTemplate,
    trie: Option<Arc<TokenTrie>>,
    /// Most tokens of one turn (and of each constrained piece of a call).
    pub max_tokens: usize,
    pub sampler: SamplerConfig,
}

impl<'s, 'm> LocalModel<'s, 'm> {
    pub fn new(
        session: &'s mut Session<'m>,
        tokenizer: Arc<Tokenizer>,
    ) -> Result<Self, AgentError> {
        let template = tokenizer.chat_template()?;
        Ok(LocalModel {
            session,
            tokenizer,
            template,
            trie: None,
            max_tokens: 128,
            sampler: SamplerConfig::greedy(),
        })
    }

    /// Generates from `prompt` (content as text, markup special); with
    /// `grammar`, under its mask; with `stop_at_call`, stops as soon as the
    /// text opens `<tool_call>`.
    fn complete(
        &mut self,
        prompt: &ChatPrompt,
        grammar: Option<Arc<JsonGrammar>>,
        stop_at_call: bool,
    ) -> Result<(String, FinishReason), AgentError> {
        let ids = self.tokenizer.encode_chat(prompt)?;
        let opts = GenerateOptions {
            max_tokens: self.max_tokens,
            sampler: self.sampler.clone(),
            stop_tokens: self.tokenizer.stop_tokens().to_vec(),
        };
        let tokenizer = self.tokenizer.clone();
        let constraint = match grammar {
            Some(g) => {
                let trie = self
                    .trie
                    .get_or_insert_with(|| Arc::new(TokenTrie::new(&tokenizer)))
                    .clone();
                Some(JsonConstraint::new(g, trie, tokenizer.clone()))
            }
            None => None,
        };
        let mut generation = self.session.generate(&ids, opts)?;
        if let Some(c) = constraint {
            generation = generation.with_constraint(c);
        }
        let mut tokens = Vec::new();
        let mut text = String::new();
        for token in generation.by_ref() {
            tokens.push(token);
            text = tokenizer.decode(&tokens)?;
            if stop_at_call && text.contains(CALL_OPEN) {
                let end = text.find(CALL_OPEN).unwrap_or(0) + CALL_OPEN.len();
                text.truncate(end);
                return Ok((text, FinishReason::Stop));
            }
        }
        let finish = generation.finish_reason().unwrap_or(FinishReason::Stop);
        Ok((text, finish))
    }

    // ANCHOR: constrained_call
    /// A call sampled under `constraint`, the prompt ending in `prefix`
    /// (the start of the assistant turn, up to and with `<tool_call>`):
    /// first the name, from the enum of tool names, then the arguments,
    /// from that tool's schema. Returns the JSON text of the call.
    pub fn constrained_call(
        &mut self,
        prompt: &ChatPrompt,
        constraint: &CallConstraint,
    ) -> Result<String, AgentError> {
        let mut head = prompt.clone();
        head.push_markup("\n{\"name\": ");
        let (name, _) = self.complete(&head, Some(constraint.names()), false)?;
        let name = name.trim();
        let chosen: Option<String> = serde_json::from_str(name).ok();
        let Some(grammar) = chosen.as_deref().and_then(|n| constraint.arguments(n)) else {
            // cut short (max_tokens): return what there is, it will not parse
            return Ok(format!("{{\"name\": {name}"));
        };
        head.push_markup(&format!("{name}, \"arguments\": "));
        let (arguments, _) = self.complete(&head, Some(grammar), false)?;
        Ok(format!(
            "{{\"name\": {name}, \"arguments\": {}}}",
            arguments.trim()
        ))
    }
    // ANCHOR_END: constrained_call

    /// The prompt of `messages`, ending with the assistant header; their
    /// content (tool results too) is text, never markup.
    pub fn render(&self, messages: &[Message]) -> Result<ChatPrompt, AgentError> {
        Ok(self
            .tokenizer
            .render_chat(&self.template, messages, None, true)?)
    }

    /// A turn that must be a call: the prompt already ends in
    /// `<tool_call>`, the JSON is constrained. The turn's text.
    pub fn forced_call(
        &mut self,
        messages: &[Message],
        constraint: &CallConstraint,
    ) -> Result<String, AgentError> {
        let mut prompt = self.render(messages)?;
        prompt.push_markup(CALL_OPEN);
        let call = self.constrained_call(&prompt, constraint)?;
        Ok(format!("{CALL_OPEN}\n{call}\n{CALL_CLOSE}"))
    }
}

impl ChatModel for LocalModel<'_, '_> {
    /// Free text; with a constraint, the model still chooses whether to
    /// call (a "lazy" grammar, as llama.cpp's triggers): once it writes
    /// `<tool_call>`, the call itself is sampled under the grammar.
    fn reply(
        &mut self,
        messages: &[Message],
        constraint: Option<&CallConstraint>,
    ) -> Result<String, AgentError> {
        let prompt = self.render(messages)?;
        let Some(constraint) = constraint else {
            return Ok(self.complete(&prompt, None, false)?.0);
        };
        let (text, _) = self.complete(&prompt, None, true)?;
        if !text.ends_with(CALL_OPEN) {
            return Ok(text);
        }
        let mut prompt = prompt;
        prompt.push_markup(&text); // the model's own words so far
        let call = self.constrained_call(&prompt, constraint)?;
        Ok(format!("{text}\n{call}\n{CALL_CLOSE}"))
    }
}
