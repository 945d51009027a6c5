//! The model thread: one model, a few KV cache slots, the requests they answer.
//!
//! burn tensors live on the thread that made them, so the model is loaded
//! *on* a dedicated OS thread and never leaves it. HTTP handlers (async, on
//! tokio's threads) talk to it through two channels:
//!
//! ```text
//!  handler ──Job──▶ queue (FIFO) ──▶ worker thread: the scheduler
//!     ▲                                   │ one batched decode step for all
//!     └────────── Event::Text / Done ─────┘ active requests (one channel each)
//! ```
//!
//! Concurrent requests decode together ("continuous batching",
//! [`crate::scheduler`]): up to `--slots` of them are active at once, each in
//! its own [`Session`](locallm_infer::Session) (a KV cache slot), and every
//! step runs their next tokens through the model in one forward pass, which
//! reads the weights once for all of them. New requests join between steps,
//! in the order they came; the others wait in the queue.
//!
//! A client that goes away drops its receiver; the worker sees the closed
//! channel before the next step and drops that answer from the batch (a
//! request that is still waiting in the queue is skipped when its turn
//! comes). Each slot's KV cache is kept between requests, and a new request
//! goes to the free slot holding the longest prefix of its prompt (the same
//! system prompt, the earlier turns of a chat), which then only computes the
//! new part.
//!
//! Embedding requests (`/v1/embeddings`) go through the same queue: they
//! use the model between two steps, but no slot.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use locallm_infer::{GenerateOptions, Grammar, Session, TokenLogprobs};
use locallm_tokenizer::Tokenizer;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use crate::metrics::{DECODE_RATE_BUCKETS, FIRST_TOKEN_BUCKETS, Histogram, Seconds};
use crate::scheduler::Scheduler;

/// A change applied to the weights once they are loaded, on the model thread
/// (the CLI uses it to attach a LoRA adapter).
pub type Adapt = Arc<
    dyn Fn(locallm_model::Llama, &locallm_model::Device) -> Result<locallm_model::Llama>
        + Send
        + Sync,
>;

/// One request for the worker.
pub struct Job {
    pub prompt: Vec<u32>,
    pub options: GenerateOptions,
    /// Stop strings (text), on top of the model's stop tokens in `options`.
    pub stop: Vec<String>,
    /// Structured output: only tokens that keep the answer in this grammar.
    pub grammar: Option<Grammar>,
    pub events: mpsc::UnboundedSender<Event>,
    /// The request's place among the `--parallel` admitted ones; freed when
    /// the worker is done with the job (or drops it unstarted).
    pub permit: OwnedSemaphorePermit,
    /// Asked for: the tokens' log-probabilities (`logprobs`).
    pub logprobs: Option<Logprobs>,
    /// When the job was queued (time to first token counts from here).
    pub submitted: Instant,
}

/// Where a job that asked for log-probabilities gets them: each token's,
/// with its `top` best alternatives. They go on their own channel so that
/// the events stay the same for every API: the tokens behind a
/// [`Event::Text`] are sent just before it, so a handler that receives the
/// text finds them waiting. Tokens whose text never reaches the client (cut
/// by a stop string) are not sent.
pub struct Logprobs {
    pub top: usize,
    pub sender: mpsc::UnboundedSender<Vec<TokenLogprobs>>,
}

/// Texts to embed (`/v1/embeddings`), answered with one vector each.
pub struct EmbedJob {
    pub inputs: Vec<Vec<u32>>,
    pub reply: tokio::sync::oneshot::Sender<Vec<Vec<f32>>>,
    pub permit: OwnedSemaphorePermit,
}

/// What the queue holds: an answer to generate, or texts to embed.
pub enum Work {
    Generate(Job),
    Embed(EmbedJob),
}

/// What the worker sends back while it answers one request.
#[derive(Debug)]
pub enum Event {
    /// The prompt is in the KV cache (`cached_tokens` of it were reused);
    /// text follows. `queued`: how long the job waited for the worker;
    /// `prompt_time`: how long the prompt took to compute.
    Started {
        cached_tokens: usize,
        queued: Duration,
        prompt_time: Duration,
    },
    /// The next piece of the answer (never empty).
    Text(String),
    /// The answer is complete.
    Done(Done),
    /// Generation could not start (the handler checks first, so this is rare).
    Error(String),
}

/// How an answer ended, with its token counts.
#[derive(Debug, Clone)]
pub struct Done {
    pub finish: Finish,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    /// Prompt tokens whose KV entries were reused from the previous request.
    pub cached_tokens: usize,
}

/// Why an answer ended, in the terms both APIs use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// The model's end-of-turn token.
    EndOfTurn,
    /// A stop string (its index in the request's list).
    StopString(usize),
    /// `max_tokens`, or the context window is full.
    Length,
}

/// Counters kept by the worker, for monitoring (`/health`, `/metrics`) and tests.
#[derive(Debug)]
pub struct Counters {
    /// Requests answered to the end.
    pub finished: AtomicUsize,
    /// Requests stopped because the client went away (queued or mid-answer).
    pub cancelled: AtomicUsize,
    /// Tokens generated, over all requests.
    pub generated_tokens: AtomicUsize,
    /// Requests being answered now: the size of the active batch.
    pub running: AtomicUsize,
    /// Batched decode steps run (generated tokens / steps = the mean batch).
    pub decode_steps: AtomicUsize,
    /// Prompt tokens computed, those reused from the KV cache, and the time
    /// the computed ones took.
    pub prompt_tokens: AtomicUsize,
    pub prompt_tokens_cached: AtomicUsize,
    pub prompt_time: Seconds,
    /// Time spent generating tokens (after the prompt), summed over
    /// requests: requests that decode together each count the time.
    pub decode_time: Seconds,
    /// Seconds from queueing to the first token, per request.
    pub first_token: Histogram,
    /// Tokens per second while decoding, per request.
    pub decode_rate: Histogram,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            finished: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
            generated_tokens: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            decode_steps: AtomicUsize::new(0),
            prompt_tokens: AtomicUsize::new(0),
            prompt_tokens_cached: AtomicUsize::new(0),
            prompt_time: Seconds::default(),
            decode_time: Seconds::default(),
            first_token: Histogram::new(FIRST_TOKEN_BUCKETS),
            decode_rate: Histogram::new(DECODE_RATE_BUCKETS),
        }
    }
}

/// Facts about the loaded file, for the APIs that describe a model
/// (Ollama's `/api/show` and `/api/tags`).
pub struct FileFacts {
    /// `general.architecture`, e.g. `llama`.
    pub architecture: String,
    /// Weights, counted from the tensor shapes.
    pub parameters: u64,
    /// `general.file_type` (llama.cpp's `enum llama_ftype`), if recorded.
    pub file_type: Option<u64>,
    /// The metadata, in file order.
    pub metadata: Vec<(String, locallm_quant::MetaValue)>,
}

/// What the HTTP side needs to know about the loaded model.
pub struct ModelInfo {
    pub tokenizer: Arc<Tokenizer>,
    pub facts: Arc<FileFacts>,
    /// Context size of each slot, in tokens.
    pub context: usize,
    pub counters: Arc<Counters>,
}

/// Loads the model on a new thread and starts serving `jobs` there with
/// `slots` KV cache slots of `context` positions. Returns once the model is
/// loaded (or failed to load).
pub fn spawn(
    model: &Path,
    context: usize,
    slots: usize,
    adapt: Option<Adapt>,
    options: locallm_model::LoadOptions,
    jobs: mpsc::UnboundedReceiver<Work>,
) -> Result<(ModelInfo, std::thread::JoinHandle<()>)> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let path = model.to_path_buf();
    let handle = std::thread::Builder::new()
        .name("locallm-model".into())
        .spawn(move || {
            let loaded = load(&path, context, adapt, &options);
            let (tokenizer, facts, model, device, context) = match loaded {
                Ok(l) => l,
                Err(err) => {
                    let _ = ready_tx.send(Err(err));
                    return;
                }
            };
            let counters = Arc::new(Counters::default());
            let info = ModelInfo {
                tokenizer: tokenizer.clone(),
                facts,
                context,
                counters: counters.clone(),
            };
            let _ = ready_tx.send(Ok(info));
            // allocated now, filled as they are used: memory pages are
            // taken when first written, so an idle slot costs address space
            let mut slots: Vec<Session<'_>> = (0..slots.max(1))
                .map(|_| Session::new(&model, context, &device))
                .collect();
            let scheduler = Scheduler {
                model: &model,
                device: &device,
                tokenizer: &tokenizer,
                counters: &counters,
            };
            scheduler.run(&mut slots, jobs);
        })?;
    let info = ready_rx
        .recv()
        .context("the model thread ended before loading the model")??;
    Ok((info, handle))
}

type LoadedModel = (
    Arc<Tokenizer>,
    Arc<FileFacts>,
    locallm_model::Llama,
    locallm_model::Device,
    usize,
);

fn load(
    path: &Path,
    context: usize,
    adapt: Option<Adapt>,
    options: &locallm_model::LoadOptions,
) -> Result<LoadedModel> {
    let gguf = Arc::new(
        locallm_quant::GgufFile::open(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
    );
    // the architecture first, as the CLI checks it
    locallm_model::Family::of(&gguf.metadata)?;
    let tokenizer = Tokenizer::from_metadata(&gguf.metadata)
        .context("cannot build the tokenizer from the GGUF metadata")?;
    let facts = Arc::new(FileFacts {
        architecture: gguf
            .metadata
            .architecture()
            .unwrap_or("unknown")
            .to_string(),
        parameters: gguf.n_params(),
        file_type: gguf.metadata.get_u64("general.file_type"),
        metadata: gguf.metadata_in_file_order(),
    });
    let device = options.backend.device()?;
    // adapters attach to f32 weights; plain generation keeps the blocks
    let model = match adapt {
        Some(_) => locallm_model::load_llama(&gguf, &device),
        None => locallm_model::load_llama_for_inference(&gguf, &device, options),
    }
    .with_context(|| format!("cannot load the weights of {}", path.display()))?;
    let model = match adapt {
        Some(adapt) => adapt(model, &device)?,
        None => model,
    };
    let context = context.min(model.config.context_length);
    Ok((Arc::new(tokenizer), facts, model, device, context))
}
