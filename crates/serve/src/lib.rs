//! # locallm-serve: the model behind the APIs everyone already speaks
//!
//! `locallm serve` answers the OpenAI API (`/v1/chat/completions`,
//! `/v1/completions`, `/v1/responses`, `/v1/models`), the Anthropic Messages API
//! (`/v1/messages`) and the Ollama API (`/api/chat`, `/api/generate`,
//! `/api/tags`, ...), so the official SDKs, curl scripts, editors and web
//! UIs that speak any of them can use the local model, and serves a small
//! chat page at `/`.
//!
//! The design:
//!
//! ```text
//!  clients ─HTTP─▶ axum handlers (tokio) ──Job──▶ FIFO queue ──▶ model thread
//!     ▲              parse, check, tokenize                   (--slots sessions,
//!     └──── JSON or server-sent events ◀──── Event channel ◀── one batched step)
//! ```
//!
//! The modules, in reading order (each imports only those above it):
//!
//! 1. [`error`] — each API's own error shape and status codes;
//! 2. [`worker`] — the one thread that owns the model; its [`scheduler`]
//!    decodes the active requests together, one batched step per token
//!    (continuous batching), and each [`answer`] streams its own text back
//!    ([`stop`]: stop strings found in streamed text; [`metrics`]: the
//!    counters and histograms it fills);
//! 3. [`state`] — what every handler shares, and the steps all the APIs
//!    take: model check, chat template, context check, submit to the worker;
//! 4. [`wire`] — what more than one API sends or receives (content parts,
//!    structured output's formats, ids), [`tools`] — tool calls on the wire,
//!    [`extract`] — the JSON body, or an error in the API's shape, [`sse`] —
//!    the worker's events as a stream, [`middleware`] — the key check and one
//!    log line per request;
//! 5. the APIs, each a module with its `router()`: [`openai`] (chat,
//!    completions, embeddings, models), [`responses`], [`anthropic`] and
//!    [`ollama`] translate requests and answers (structured output:
//!    `response_format` / `text.format` / `format` become a JSON grammar that
//!    masks the model's tokens, `locallm_infer::constrained`, and the OpenAI
//!    endpoints take llama-server's GBNF `grammar` too); [`extras`] —
//!    llama.cpp's `/tokenize`, `/detokenize` and Prometheus `/metrics`; and
//!    [`site`] — the chat page, `/health`, unknown routes;
//! 6. [`app`] — the routers merged, under the body limit, key check, CORS
//!    (`--cors-origin`), request count and log.
//!
//! `GET /health` shows requests in flight and free `--parallel` places.
//!
//! One model, one worker thread, `--slots` requests decoding together: each
//! step of the worker runs the next token of every active request through
//! the model in one forward pass, and new requests join between steps, first
//! come first served. `--parallel N` bounds how many requests are admitted
//! at once (decoding or queued); more are turned away at once with 503
//! (Anthropic: 529, "overloaded").

pub mod error;
pub mod metrics;
pub mod stop;
pub mod worker;

pub mod answer;
pub mod scheduler;

pub mod state;

pub mod extract;
pub mod middleware;
pub mod sse;
pub mod tools;
pub mod wire;

pub mod anthropic;
pub mod extras;
pub mod ollama;
pub mod openai;
pub mod responses;
pub mod site;

pub mod app;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::{Semaphore, mpsc, oneshot};

pub use error::{ApiError, Flavor, Kind};
pub use worker::Adapt;

/// How to run the server; [`ServeConfig::new`] has the CLI's defaults.
#[derive(Clone)]
pub struct ServeConfig {
    /// The GGUF model file.
    pub model: PathBuf,
    /// Address to bind; loopback unless asked otherwise.
    pub host: IpAddr,
    /// Port; 0 picks a free one (tests).
    pub port: u16,
    /// With a key, `/v1/` requests must send it (Bearer or `x-api-key`).
    pub api_key: Option<String>,
    /// Requests admitted at once (decoding or waiting in the queue).
    pub parallel: usize,
    /// Requests decoded together, each in its own KV cache slot of `ctx`
    /// positions (llama-server's `--parallel`); at most `parallel` are used.
    pub slots: usize,
    /// Context size in tokens (capped at the model's own).
    pub ctx: usize,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// One line per request on stderr.
    pub log: bool,
    /// Applied to the weights after loading, if set.
    pub adapt: Option<Adapt>,
    /// How to load the weights (blocks or f32, kernels, backend).
    pub load: locallm_model::LoadOptions,
    /// The model's name in the APIs (`--alias`); default: the file stem.
    pub alias: Option<String>,
    /// Browser origins allowed to call the server (`--cors-origin`; `*`:
    /// any); empty: no CORS headers.
    pub cors_origins: Vec<String>,
}

impl ServeConfig {
    pub fn new(model: PathBuf) -> Self {
        ServeConfig {
            model,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            api_key: None,
            parallel: 16,
            slots: 4,
            ctx: 4096,
            body_limit: 4 << 20,
            log: true,
            adapt: None,
            load: locallm_model::LoadOptions::default(),
            alias: None,
            cors_origins: Vec::new(),
        }
    }
}

/// A running server. Dropping it asks it to shut down.
pub struct Server {
    addr: SocketAddr,
    model_id: String,
    context: usize,
    counters: Arc<worker::Counters>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

// ANCHOR: start
impl Server {
    /// Binds the address, loads the model and starts serving on background
    /// threads; returns once requests can be made. The address comes first:
    /// a port in use is said at once, not after the model has loaded.
    pub fn start(config: ServeConfig) -> Result<Server> {
        for origin in &config.cors_origins {
            app::check_origin(origin).map_err(anyhow::Error::msg)?;
        }
        if config.alias.as_deref().is_some_and(|a| a.trim().is_empty()) {
            anyhow::bail!("--alias must not be empty");
        }
        let listener =
            std::net::TcpListener::bind((config.host, config.port)).with_context(|| {
                format!(
                    "cannot listen on {}:{} (another server there? choose another --port)",
                    config.host, config.port
                )
            })?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (jobs, queue) = mpsc::unbounded_channel();
        let (info, _worker) = worker::spawn(
            &config.model,
            config.ctx,
            config.slots.clamp(1, config.parallel.max(1)),
            config.adapt.clone(),
            config.load,
            queue,
        )?;
        let model_id = config
            .alias
            .clone()
            .unwrap_or_else(|| model_id(&config.model));
        let state = Arc::new(state::AppState {
            model_id: model_id.clone(),
            file: file_info(&config.model)?,
            facts: info.facts.clone(),
            created: wire::unix_time(),
            template: info.tokenizer.chat_template().ok(),
            tokenizer: info.tokenizer.clone(),
            context: info.context,
            api_key: config.api_key.clone(),
            body_limit: config.body_limit,
            log: config.log,
            jobs,
            slots: Arc::new(Semaphore::new(config.parallel.max(1))),
            parallel: config.parallel.max(1),
            counters: info.counters.clone(),
            requests: Default::default(),
            cors_origins: config.cors_origins.clone(),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("locallm-http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    axum::serve(listener, app::router(state))
                        .with_graceful_shutdown(async move {
                            let _ = stop.await;
                        })
                        .await?;
                    Ok(())
                })
            })?;
        Ok(Server {
            addr,
            model_id,
            context: info.context,
            counters: info.counters,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }
    // ANCHOR_END: start

    /// The address it listens on (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://addr`, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// The name clients put in the `model` field.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }
    /// The context size, in tokens.
    pub fn context(&self) -> usize {
        self.context
    }

    /// The worker's counters: requests finished and cancelled, tokens generated.
    pub fn counters(&self) -> &worker::Counters {
        &self.counters
    }

    /// Serves until the process ends (or the server fails).
    pub fn wait(mut self) -> Result<()> {
        let thread = self.thread.take().expect("not yet joined");
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("the HTTP thread panicked"))?
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The file's path, size and modification time.
fn file_info(path: &std::path::Path) -> Result<state::FileInfo> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Ok(state::FileInfo {
        path: path.to_path_buf(),
        size: meta.len(),
        modified,
        digest: tokio::sync::OnceCell::new(),
    })
}

/// The model's default name in the APIs: its file name without `.gguf`.
pub fn model_id(path: &std::path::Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "model".to_string(), |n| n.to_string_lossy().into_owned());
    name.strip_suffix(".gguf").unwrap_or(&name).to_string()
}
