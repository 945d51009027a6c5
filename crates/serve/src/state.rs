//! The state every handler shares, and the steps all the APIs take on the
//! way to the model:
//!
//! 1. [`AppState::check_model`] — the `model` field names the loaded model;
//! 2. [`AppState::chat_prompt`] — messages → chat template → token ids;
//! 3. [`AppState::check_context`] — the prompt fits, or a 400 that states
//!    both token counts ([`AppState::fit_chat`]: unless the request opts into
//!    truncation);
//! 4. [`AppState::options`] — the request's sampling settings, checked;
//! 5. [`AppState::submit`] — a place among `--parallel`, then the worker's queue;
//! 6. [`collect`] — the worker's events → one whole answer (a streamed
//!    answer goes through the `sse` module instead).

use std::sync::Arc;

use locallm_infer::{GenerateOptions, Grammar, SamplerConfig, TokenLogprobs};
use locallm_tokenizer::{ChatTemplate, Message, Tokenizer};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::error::{ApiError, Flavor, Kind};
use crate::metrics::RequestCounts;
use crate::worker::{Counters, Done, EmbedJob, Event, FileFacts, Job, Logprobs, Work};

/// Everything a handler needs, shared by all of them.
pub struct AppState {
    /// The name clients put in `model` (`--alias`, or the GGUF file name
    /// without `.gguf`).
    pub model_id: String,
    /// The GGUF file's name, size and modification time (Ollama's model list).
    pub file: FileInfo,
    /// What the file's header says (architecture, size, metadata).
    pub facts: Arc<FileFacts>,
    /// Unix time the server started (OpenAI's `created` of the model).
    pub created: u64,
    pub tokenizer: Arc<Tokenizer>,
    pub template: Option<ChatTemplate>,
    /// The worker session's context size in tokens.
    pub context: usize,
    pub api_key: Option<String>,
    pub body_limit: usize,
    pub log: bool,
    pub jobs: mpsc::UnboundedSender<Work>,
    /// `--parallel` places: requests admitted at once (one runs, the rest queue).
    pub slots: Arc<Semaphore>,
    /// How many places `slots` has in all.
    pub parallel: usize,
    /// The worker's counters, shown by `/health` and `/metrics`.
    pub counters: Arc<Counters>,
    /// HTTP requests by route and status, for `/metrics`.
    pub requests: RequestCounts,
    /// `--cors-origin` values (the CORS layer is built from them).
    pub cors_origins: Vec<String>,
}

/// The model file as the file system sees it.
pub struct FileInfo {
    pub path: std::path::PathBuf,
    pub size: u64,
    /// Unix time of the last change, in seconds.
    pub modified: u64,
    /// The file's sha256 (hex), computed on first use (Ollama's `digest`).
    pub digest: tokio::sync::OnceCell<String>,
}

pub type Shared = Arc<AppState>;

/// What the worker needs for one answer.
pub struct Prepared {
    pub prompt: Vec<u32>,
    pub options: GenerateOptions,
    pub stop: Vec<String>,
    /// Structured output: the answer must follow this grammar (JSON of a
    /// schema, or a request's GBNF `grammar`).
    pub grammar: Option<Grammar>,
}

impl AppState {
    pub fn check_model(&self, flavor: Flavor, model: &str) -> Result<(), ApiError> {
        if model == self.model_id {
            return Ok(());
        }
        let message = format!(
            "the model `{model}` does not exist; this server has `{}`",
            self.model_id
        );
        Err(ApiError::new(flavor, Kind::NotFound, message)
            .param("model")
            .code("model_not_found"))
    }

    /// A conversation through the model's chat template, as token ids.
    /// Message content is text: only the template's markup becomes special
    /// tokens, so a message cannot forge a turn (`Tokenizer::render_chat`).
    pub fn chat_prompt(&self, flavor: Flavor, messages: &[Message]) -> Result<Vec<u32>, ApiError> {
        let bad = |message: String| ApiError::new(flavor, Kind::BadRequest, message);
        if messages.is_empty() {
            return Err(bad("`messages` must not be empty".into()).param("messages"));
        }
        let template = self
            .template
            .as_ref()
            .ok_or_else(|| bad("this model has no chat template; use /v1/completions".into()))?;
        let prompt = self
            .tokenizer
            .render_chat(template, messages, None, true)
            .map_err(|e| bad(format!("cannot render the chat template: {e}")))?;
        let ids = self
            .tokenizer
            .encode_chat(&prompt)
            .map_err(|e| ApiError::new(flavor, Kind::Internal, format!("cannot tokenize: {e}")))?;
        Ok(ids)
    }

    // ANCHOR: truncation
    /// The chat prompt, checked against the context. A request that opts into
    /// truncation (`"truncation": "auto"`) instead loses its oldest turns
    /// (never a system message, never the last turn) until it fits; the
    /// second value is how many prompt tokens that dropped.
    pub fn fit_chat(
        &self,
        flavor: Flavor,
        mut messages: Vec<Message>,
        truncate: bool,
    ) -> Result<(Vec<u32>, usize), ApiError> {
        let full = self.chat_prompt(flavor, &messages)?;
        if !truncate || full.len() < self.context {
            self.check_context(flavor, &full, "messages")?;
            return Ok((full, 0));
        }
        loop {
            let oldest = messages.iter().position(|m| m.role != "system");
            match oldest {
                Some(i) if i + 1 < messages.len() => messages.remove(i),
                // nothing left to drop: the last turn alone is too long
                _ => return Err(self.overflow(flavor, full.len(), "messages")),
            };
            let ids = self.chat_prompt(flavor, &messages)?;
            if ids.len() < self.context {
                let dropped = full.len() - ids.len();
                return Ok((ids, dropped));
            }
        }
    }
    // ANCHOR_END: truncation

    /// Appends `text` (no special tokens) to a prompt, checking it still fits.
    pub fn extend_prompt(
        &self,
        flavor: Flavor,
        prompt: &mut Vec<u32>,
        text: &str,
        param: &str,
    ) -> Result<(), ApiError> {
        let ids = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ApiError::new(flavor, Kind::Internal, format!("cannot tokenize: {e}")))?;
        prompt.extend(ids);
        self.check_context(flavor, prompt, param)
    }

    /// A raw prompt (`/v1/completions`) as token ids. Special-token text is
    /// parsed, as llama.cpp's server does: whoever writes a raw prompt writes
    /// the markup too.
    pub fn text_prompt(&self, flavor: Flavor, text: &str) -> Result<Vec<u32>, ApiError> {
        let ids = self
            .tokenizer
            .encode_prompt(text)
            .map_err(|e| ApiError::new(flavor, Kind::Internal, format!("cannot tokenize: {e}")))?;
        if ids.is_empty() {
            return Err(ApiError::new(
                flavor,
                Kind::BadRequest,
                "the prompt is empty",
            ));
        }
        Ok(ids)
    }

    // ANCHOR: check_context
    /// Context overflow is never silent: the answer needs at least one free
    /// position after the prompt.
    pub fn check_context(
        &self,
        flavor: Flavor,
        prompt: &[u32],
        param: &str,
    ) -> Result<(), ApiError> {
        if prompt.len() < self.context {
            Ok(())
        } else {
            Err(self.overflow(flavor, prompt.len(), param))
        }
    }

    fn overflow(&self, flavor: Flavor, prompt_len: usize, param: &str) -> ApiError {
        let message = format!(
            "the prompt has {prompt_len} tokens, but this server's context holds {} tokens \
             (the prompt must be shorter than that, to leave room for the answer)",
            self.context
        );
        ApiError::new(flavor, Kind::BadRequest, message)
            .param(param)
            .code("context_length_exceeded")
    }
    // ANCHOR_END: check_context

    /// The generation settings: the request's values over llama.cpp's
    /// defaults; `max_tokens` defaults to what is left of the context.
    pub fn options(
        &self,
        flavor: Flavor,
        prompt_len: usize,
        max_tokens: Option<usize>,
        sampler: SamplerConfig,
    ) -> Result<GenerateOptions, ApiError> {
        let bad =
            |message: String, param| ApiError::new(flavor, Kind::BadRequest, message).param(param);
        // the APIs' own ranges: OpenAI 0..=2, Anthropic 0..=1; Ollama
        // (like llama.cpp) sets no upper bound
        let max_temperature = match flavor {
            Flavor::OpenAi => 2.0,
            Flavor::Anthropic => 1.0,
            Flavor::Ollama => f32::MAX,
        };
        if !(0.0..=max_temperature).contains(&sampler.temperature) {
            let message = format!(
                "`temperature` must be between 0 and {max_temperature}, got {}",
                sampler.temperature
            );
            return Err(bad(message, "temperature"));
        }
        sampler.validate().map_err(|e| bad(e.to_string(), e.name))?;
        if max_tokens == Some(0) {
            return Err(bad("`max_tokens` must be at least 1".into(), "max_tokens"));
        }
        Ok(GenerateOptions {
            max_tokens: max_tokens.unwrap_or(self.context - prompt_len),
            sampler,
            stop_tokens: self.tokenizer.stop_tokens().to_vec(),
        })
    }

    /// Queues a request for the worker; its events arrive on the returned
    /// channel. Dropping the receiver cancels the request.
    pub fn submit(
        &self,
        flavor: Flavor,
        prepared: Prepared,
    ) -> Result<mpsc::UnboundedReceiver<Event>, ApiError> {
        self.submit_job(flavor, prepared, None)
    }

    /// [`AppState::submit`], and the tokens' log-probabilities with the
    /// `top` best alternatives each, on a second channel (see
    /// [`crate::worker::Logprobs`]).
    pub fn submit_with_logprobs(
        &self,
        flavor: Flavor,
        prepared: Prepared,
        top: usize,
    ) -> Result<
        (
            mpsc::UnboundedReceiver<Event>,
            mpsc::UnboundedReceiver<Vec<TokenLogprobs>>,
        ),
        ApiError,
    > {
        let (sender, scores) = mpsc::unbounded_channel();
        let events = self.submit_job(flavor, prepared, Some(Logprobs { top, sender }))?;
        Ok((events, scores))
    }

    // ANCHOR: submit
    fn submit_job(
        &self,
        flavor: Flavor,
        prepared: Prepared,
        logprobs: Option<Logprobs>,
    ) -> Result<mpsc::UnboundedReceiver<Event>, ApiError> {
        let permit = self.slot(flavor)?;
        let (events, receiver) = mpsc::unbounded_channel();
        let job = Job {
            prompt: prepared.prompt,
            options: prepared.options,
            stop: prepared.stop,
            grammar: prepared.grammar,
            events,
            permit,
            logprobs,
            submitted: std::time::Instant::now(),
        };
        self.jobs
            .send(Work::Generate(job))
            .map_err(|_| ApiError::new(flavor, Kind::Internal, "the model thread has stopped"))?;
        Ok(receiver)
    }
    // ANCHOR_END: submit

    /// One of the `--parallel` places, or a 503/529 at once.
    fn slot(&self, flavor: Flavor) -> Result<OwnedSemaphorePermit, ApiError> {
        self.slots.clone().try_acquire_owned().map_err(|_| {
            let message = "the server is busy (all --parallel places are taken); retry later";
            ApiError::new(flavor, Kind::Overloaded, message)
        })
    }

    /// Queues texts to embed; waits for their vectors.
    pub async fn embed(
        &self,
        flavor: Flavor,
        inputs: Vec<Vec<u32>>,
    ) -> Result<Vec<Vec<f32>>, ApiError> {
        let permit = self.slot(flavor)?;
        let (reply, vectors) = tokio::sync::oneshot::channel();
        let stopped = || ApiError::new(flavor, Kind::Internal, "the model thread has stopped");
        self.jobs
            .send(Work::Embed(EmbedJob {
                inputs,
                reply,
                permit,
            }))
            .map_err(|_| stopped())?;
        vectors.await.map_err(|_| stopped())
    }
}

/// Waits for a whole answer.
pub async fn collect(
    flavor: Flavor,
    mut events: mpsc::UnboundedReceiver<Event>,
) -> Result<(String, Done), ApiError> {
    let mut text = String::new();
    while let Some(event) = events.recv().await {
        match event {
            Event::Started { .. } => {}
            Event::Text(piece) => text.push_str(&piece),
            Event::Done(done) => return Ok((text, done)),
            Event::Error(message) => return Err(ApiError::new(flavor, Kind::Internal, message)),
        }
    }
    Err(ApiError::new(
        flavor,
        Kind::Internal,
        "the model thread has stopped",
    ))
}
