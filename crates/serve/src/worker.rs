//! The model thread: one model, one KV cache, one request at a time.
//!
//! burn tensors live on the thread that made them, so the model is loaded
//! *on* a dedicated OS thread and never leaves it. HTTP handlers (async, on
//! tokio's threads) talk to it through two channels:
//!
//! ```text
//!  handler ──Job──▶ queue (FIFO) ──▶ worker thread: Session::generate
//!     ▲                                   │ for each token: decode, stop strings
//!     └────────── Event::Text / Done ─────┘ (one channel per request)
//! ```
//!
//! A client that goes away drops its receiver; the worker sees the closed
//! channel before the next decode step and stops that generation at once
//! (a request that is still waiting in the queue is skipped when its turn
//! comes). The session's KV cache is kept between requests, so a request that
//! shares a prefix with the previous one (the same system prompt, the earlier
//! turns of a chat) only computes the new part.
//!
//! Embedding requests (`/v1/embeddings`) go through the same queue: they
//! use the model too, but not the KV cache.
//!
//! Requests are served strictly first come, first served. Interleaving the
//! decode steps of several requests in one batch ("continuous batching") is
//! future work: it needs a KV cache with one slot per request.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use locallm_infer::embed::embed;
use locallm_infer::{FinishReason, GenerateOptions, Grammar, Session, TokenLogprobs, TokenTrie};
use locallm_tokenizer::Tokenizer;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use crate::metrics::{DECODE_RATE_BUCKETS, FIRST_TOKEN_BUCKETS, Histogram, Seconds};
use crate::stop::{Scan, StopMatcher};

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
    /// 1 while the worker answers a request, else 0.
    pub running: AtomicUsize,
    /// Prompt tokens computed, those reused from the KV cache, and the time
    /// the computed ones took.
    pub prompt_tokens: AtomicUsize,
    pub prompt_tokens_cached: AtomicUsize,
    pub prompt_time: Seconds,
    /// Time spent generating tokens (after the prompt).
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
    /// Context size of the worker's session, in tokens.
    pub context: usize,
    pub counters: Arc<Counters>,
}

/// Loads the model on a new thread and starts serving `jobs` there. Returns
/// once the model is loaded (or failed to load).
pub fn spawn(
    model: &Path,
    context: usize,
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
            let mut session = Session::new(&model, context, &device);
            serve_jobs(&mut session, &model, &device, &tokenizer, &counters, jobs);
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

/// The worker's loop: one job after the other, until every sender is gone.
fn serve_jobs(
    session: &mut Session<'_>,
    model: &locallm_model::Llama,
    device: &locallm_model::Device,
    tokenizer: &Arc<Tokenizer>,
    counters: &Counters,
    mut jobs: mpsc::UnboundedReceiver<Work>,
) {
    // the vocabulary trie for structured output, built on first use
    let mut trie = None;
    while let Some(work) = jobs.blocking_recv() {
        let job = match work {
            Work::Generate(job) => job,
            Work::Embed(job) => {
                // embeddings do not touch the session's KV cache
                if !job.reply.is_closed() {
                    let vectors = job.inputs.iter().map(|t| embed(model, t, device)).collect();
                    let _ = job.reply.send(vectors);
                }
                continue;
            }
        };
        // a client that left while waiting in the queue is skipped
        if job.events.is_closed() {
            counters.cancelled.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        counters.running.store(1, Ordering::SeqCst);
        let answered = run_job(session, tokenizer, &mut trie, counters, job);
        counters.running.store(0, Ordering::SeqCst);
        if !answered {
            counters.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

// ANCHOR: run_job
/// Answers one request, streaming text pieces to its channel; false if the
/// client went away before the answer was complete.
fn run_job(
    session: &mut Session<'_>,
    tokenizer: &Arc<Tokenizer>,
    trie: &mut Option<Arc<TokenTrie>>,
    counters: &Counters,
    job: Job,
) -> bool {
    let send = |event| job.events.send(event).is_ok();
    let picked = Instant::now();
    let mut generation = match session.generate(&job.prompt, job.options) {
        Ok(g) => g,
        Err(err) => {
            send(Event::Error(err.to_string()));
            return true;
        }
    };
    if let Some(logprobs) = &job.logprobs {
        generation = generation.with_logprobs(logprobs.top);
    }
    // log-probabilities of tokens whose text is not sent yet
    let mut scored = Vec::new();
    let send_text = |text: String, scored: &mut Vec<TokenLogprobs>| {
        if let Some(logprobs) = &job.logprobs {
            let _ = logprobs.sender.send(std::mem::take(scored));
        }
        send(Event::Text(text))
    };
    if let Some(grammar) = job.grammar {
        let trie = trie.get_or_insert_with(|| Arc::new(TokenTrie::new(tokenizer)));
        generation =
            generation.with_constraint(grammar.constraint(trie.clone(), tokenizer.clone()));
    }
    let prompt_done = Instant::now();
    let reused = generation.reused_tokens();
    counters
        .prompt_tokens
        .fetch_add(job.prompt.len() - reused, Ordering::SeqCst);
    (counters.prompt_tokens_cached).fetch_add(reused, Ordering::SeqCst);
    counters.prompt_time.add(prompt_done - picked);
    send(Event::Started {
        cached_tokens: reused,
        queued: picked.duration_since(job.submitted),
        prompt_time: prompt_done - picked,
    });
    let mut decoder = tokenizer.decoder();
    let mut stops = StopMatcher::new(job.stop);
    let mut completion_tokens = 0;
    let mut finish = None;
    while finish.is_none() {
        // a closed channel means the client is gone: stop before the next step
        if job.events.is_closed() {
            return false;
        }
        let Some(token) = generation.next() else {
            break;
        };
        completion_tokens += 1;
        counters.generated_tokens.fetch_add(1, Ordering::SeqCst);
        scored.extend(generation.last_logprobs().cloned());
        if completion_tokens == 1 {
            let waited = job.submitted.elapsed().as_secs_f64();
            counters.first_token.observe(waited);
        }
        let piece = decoder.push(token).unwrap_or_default();
        let text = match stops.push(&piece) {
            Scan::Text(text) => text,
            Scan::Stopped { text, stop } => {
                finish = Some(Finish::StopString(stop));
                text
            }
        };
        if !text.is_empty() && !send_text(text, &mut scored) {
            return false;
        }
    }
    let finish = match finish {
        Some(finish) => finish,
        None => {
            // no stop string so far: flush the held-back text (which may
            // still complete one, with the decoder's last bytes)
            let (rest, stopped) = match stops.push(&decoder.finish()) {
                Scan::Text(text) => (text + &stops.finish(), None),
                Scan::Stopped { text, stop } => (text, Some(stop)),
            };
            if !rest.is_empty() {
                send_text(rest, &mut scored);
            }
            match (stopped, generation.finish_reason()) {
                (Some(stop), _) => Finish::StopString(stop),
                (None, Some(FinishReason::Stop)) => Finish::EndOfTurn,
                (None, _) => Finish::Length,
            }
        }
    };
    let cached_tokens = generation.reused_tokens();
    let decoding = prompt_done.elapsed();
    counters.decode_time.add(decoding);
    if completion_tokens > 0 && !decoding.is_zero() {
        let rate = completion_tokens as f64 / decoding.as_secs_f64();
        counters.decode_rate.observe(rate);
    }
    // the place and the counts are updated before the client hears we are
    // done, so a /metrics read right after the answer sees them
    drop(job.permit);
    counters.finished.fetch_add(1, Ordering::SeqCst);
    counters.running.store(0, Ordering::SeqCst);
    send(Event::Done(Done {
        finish,
        prompt_tokens: job.prompt.len(),
        completion_tokens,
        cached_tokens,
    }));
    true
}
// ANCHOR_END: run_job
