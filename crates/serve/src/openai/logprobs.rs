//! `logprobs` on the wire, in OpenAI's two shapes.
//!
//! The numbers are the model's own log-probabilities, before any sampling
//! stage (`locallm_infer::logprobs` says why): what the OpenAI API reports,
//! and what perplexity scores. llama.cpp's server reports the same by
//! default (its `post_sampling_probs` switches to the sampler's).
//!
//! ```text
//! chat         choices[].logprobs = {"content": [{"token", "logprob", "bytes",
//!                                     "top_logprobs": [{"token", "logprob", "bytes"}]}],
//!                                    "refusal": null}
//! completions  choices[].logprobs = {"tokens": [..], "token_logprobs": [..],
//!                                    "top_logprobs": [{token: logprob}], "text_offset": [..]}
//! ```
//!
//! A token's `token` is its text (a token that holds part of a UTF-8
//! character shows U+FFFD there; `bytes` are exact). Streamed, each chunk
//! carries the tokens behind its text. `text_offset` counts characters from
//! the start of the answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use locallm_infer::TokenLogprobs;
use locallm_tokenizer::Tokenizer;
use serde::Serialize;
use tokio::sync::mpsc;

use super::common::FLAVOR;
use crate::error::ApiError;
use crate::state::{AppState, Prepared};
use crate::worker::Event;

/// Queues a request for the worker; with `logprobs: Some(top)` its tokens'
/// log-probabilities come too, with `top` alternatives each.
pub fn submit(
    state: &AppState,
    prepared: Prepared,
    logprobs: Option<usize>,
) -> Result<(mpsc::UnboundedReceiver<Event>, Option<Scores>), ApiError> {
    Ok(match logprobs {
        None => (state.submit(FLAVOR, prepared)?, None),
        Some(top) => {
            let (events, scores) = state.submit_with_logprobs(FLAVOR, prepared, top)?;
            (events, Some(Scores::new(scores, state.tokenizer.clone())))
        }
    })
}

/// One request's log-probabilities on their way to the client.
pub struct Scores {
    receiver: mpsc::UnboundedReceiver<Vec<TokenLogprobs>>,
    tokenizer: Arc<Tokenizer>,
    /// Characters of the answer before the tokens not yet taken.
    offset: usize,
}

impl Scores {
    pub fn new(
        receiver: mpsc::UnboundedReceiver<Vec<TokenLogprobs>>,
        tokenizer: Arc<Tokenizer>,
    ) -> Self {
        Scores {
            receiver,
            tokenizer,
            offset: 0,
        }
    }

    /// The log-probabilities the worker has sent so far: those of the text
    /// received so far (they are sent before it, see `worker::Logprobs`).
    fn take(&mut self) -> Vec<TokenLogprobs> {
        let mut out = Vec::new();
        while let Ok(more) = self.receiver.try_recv() {
            out.extend(more);
        }
        out
    }

    /// Those tokens in the chat shape.
    pub fn chat(&mut self) -> ChatLogprobs {
        let scores = self.take();
        ChatLogprobs::new(&self.tokenizer, &scores)
    }

    /// Those tokens in the completions shape.
    pub fn completion(&mut self) -> CompletionLogprobs {
        let scores = self.take();
        CompletionLogprobs::new(&self.tokenizer, &scores, &mut self.offset)
    }
}

/// `-inf` has no JSON number; OpenAI writes a token the model rules out as
/// -9999.0.
fn number(logprob: f32) -> f32 {
    if logprob.is_finite() {
        logprob
    } else {
        -9999.0
    }
}

fn piece(tokenizer: &Tokenizer, id: u32) -> Vec<u8> {
    tokenizer
        .token_to_piece(id)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

/// A chat choice's `logprobs`.
#[derive(Serialize)]
pub struct ChatLogprobs {
    content: Vec<ChatToken>,
    refusal: Option<Vec<ChatToken>>,
}

#[derive(Serialize)]
struct ChatToken {
    token: String,
    logprob: f32,
    bytes: Vec<u8>,
    top_logprobs: Vec<TopToken>,
}

#[derive(Serialize)]
struct TopToken {
    token: String,
    logprob: f32,
    bytes: Vec<u8>,
}

// ANCHOR: chat_logprobs
impl ChatLogprobs {
    fn new(tokenizer: &Tokenizer, scores: &[TokenLogprobs]) -> Self {
        let top = |id: u32, logprob: f32| {
            let bytes = piece(tokenizer, id);
            TopToken {
                token: String::from_utf8_lossy(&bytes).into_owned(),
                logprob: number(logprob),
                bytes,
            }
        };
        let content = (scores.iter())
            .map(|s| {
                let chosen = top(s.id, s.logprob);
                ChatToken {
                    token: chosen.token,
                    logprob: chosen.logprob,
                    bytes: chosen.bytes,
                    top_logprobs: s.top.iter().map(|&(id, lp)| top(id, lp)).collect(),
                }
            })
            .collect();
        ChatLogprobs {
            content,
            refusal: None,
        }
    }
}
// ANCHOR_END: chat_logprobs

/// A text completion choice's `logprobs` (the legacy shape).
#[derive(Serialize)]
pub struct CompletionLogprobs {
    tokens: Vec<String>,
    token_logprobs: Vec<f32>,
    top_logprobs: Vec<BTreeMap<String, f32>>,
    text_offset: Vec<usize>,
}

impl CompletionLogprobs {
    /// `offset`: characters of the answer before these tokens; moved past them.
    fn new(tokenizer: &Tokenizer, scores: &[TokenLogprobs], offset: &mut usize) -> Self {
        let text = |id| String::from_utf8_lossy(&piece(tokenizer, id)).into_owned();
        let mut out = CompletionLogprobs {
            tokens: Vec::new(),
            token_logprobs: Vec::new(),
            top_logprobs: Vec::new(),
            text_offset: Vec::new(),
        };
        for s in scores {
            let token = text(s.id);
            out.text_offset.push(*offset);
            *offset += token.chars().count();
            out.tokens.push(token);
            out.token_logprobs.push(number(s.logprob));
            let top = s.top.iter().map(|&(id, lp)| (text(id), number(lp)));
            out.top_logprobs.push(top.collect());
        }
        out
    }
}
