//! `locallm serve`: the model behind the OpenAI, Anthropic and Ollama HTTP APIs.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::Args as ClapArgs;
use locallm_model::{Device, Llama};
use locallm_serve::{Adapt, ServeConfig, Server};

use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF file or model name (see `locallm list`; default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// Address to listen on; the default (loopback) is reachable from this machine only.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Require this key: `Authorization: Bearer KEY` or `x-api-key: KEY`.
    #[arg(long)]
    pub api_key: Option<String>,
    /// Requests admitted at once: up to --slots decode together, the others wait in order.
    #[arg(long, default_value_t = 16)]
    pub parallel: usize,
    /// Requests decoded together (continuous batching), each in its own KV cache slot of --ctx positions (llama-server's --parallel).
    #[arg(long, default_value_t = 4)]
    pub slots: usize,
    /// Threads for the model (default: all cores).
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// Context size in tokens (KV cache positions).
    #[arg(long, default_value_t = 4096)]
    pub ctx: usize,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    pub body_limit: usize,
    /// Do not write one log line per request.
    #[arg(long)]
    pub quiet: bool,
    /// A LoRA adapter directory (PEFT layout), applied unmerged.
    #[arg(long)]
    pub lora: Option<PathBuf>,
    /// The model's name in the APIs (the `model` field clients send); default: the file name without `.gguf`.
    #[arg(long)]
    pub alias: Option<String>,
    /// Let web pages of this origin call the server from a browser (CORS), e.g. http://localhost:3000; repeat for more, `*` for any. Default: none.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
}

pub fn run(args: Args) -> Result<()> {
    super::bench::thread_pool(args.threads)?;
    let adapt: Option<Adapt> = args.lora.clone().map(|dir| {
        Arc::new(move |model: Llama, device: &Device| super::lora::attach_dir(model, &dir, device))
            as Adapt
    });
    let config = ServeConfig {
        host: args.host,
        port: args.port,
        api_key: args.api_key,
        parallel: args.parallel,
        slots: args.slots,
        ctx: args.ctx,
        body_limit: args.body_limit,
        log: !args.quiet,
        adapt,
        alias: args.alias,
        cors_origins: args.cors_origins,
        ..ServeConfig::new(loaded::model_path(args.model.as_deref())?)
    };
    let server = Server::start(config)?;
    eprintln!(
        "Serving {} ({} tokens of context) on {}",
        server.model_id(),
        server.context(),
        server.url()
    );
    eprintln!("  chat page:  {}/", server.url());
    eprintln!(
        "  OpenAI:     {}/v1 (chat/completions, completions, responses, models)",
        server.url()
    );
    eprintln!("  Anthropic:  {}/v1/messages", server.url());
    eprintln!(
        "  Ollama:     {} (/api/chat, /api/generate, /api/embed, /api/tags, /api/show)",
        server.url()
    );
    eprintln!("  extras:     /tokenize, /detokenize, /metrics, /health");
    server.wait()
}
