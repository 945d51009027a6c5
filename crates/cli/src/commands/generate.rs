//! `locallm generate`: one prompt in, its continuation on stdout.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use locallm_infer::{CacheFactory, CacheType, CacheTypes, Session};
use locallm_model::{Device, LlamaConfig};
use locallm_tokenizer::Message;

pub use crate::answer::SamplingArgs;
use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF file or model name (see `locallm list`; default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// The prompt (llama.cpp's -p).
    #[arg(
        short = 'p',
        long,
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub prompt: Option<String>,
    /// Read the prompt from a file; `-` reads it from stdin (llama.cpp's -f).
    #[arg(short = 'f', long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Feed the prompt as-is, without the chat template.
    #[arg(long)]
    pub raw: bool,
    /// A system message (chat template only).
    #[arg(long)]
    pub system: Option<String>,
    /// A LoRA adapter directory (PEFT layout), applied unmerged.
    #[arg(long)]
    pub lora: Option<PathBuf>,
    /// Keep generating past the end-of-generation token (llama.cpp's
    /// `--ignore-eos`): exactly -n tokens, for measurements.
    #[arg(long)]
    pub ignore_eos: bool,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// How the KV cache stores keys and values (llama.cpp's `-ctk`/`-ctv`),
/// shared by `generate`, `chat` and `perplexity`.
#[derive(ClapArgs, Clone, Default)]
pub struct CacheArgs {
    /// Storage type of the cached keys: f32, f16, q8_0 or q4_0.
    #[arg(long, default_value = "f32", value_name = "TYPE")]
    pub cache_type_k: CacheType,
    /// Storage type of the cached values: f32, f16, q8_0 or q4_0.
    #[arg(long, default_value = "f32", value_name = "TYPE")]
    pub cache_type_v: CacheType,
    /// Store q8_0/q4_0 rows as they are, without the Hadamard rotation that
    /// spreads outlier channels (llama.cpp: LLAMA_ATTN_ROT_DISABLE=1).
    #[arg(long)]
    pub no_cache_rotation: bool,
}

impl CacheArgs {
    pub fn types(&self) -> CacheTypes {
        CacheTypes {
            k: self.cache_type_k,
            v: self.cache_type_v,
            rotate: !self.no_cache_rotation,
        }
    }

    /// A session whose cache stores keys and values in these types.
    pub fn session<'m>(
        &self,
        model: &'m locallm_model::Llama,
        ctx: usize,
        device: &Device,
    ) -> Result<Session<'m>> {
        Ok(Session::with_cache_types(model, ctx, self.types(), device)?)
    }

    /// The caches `locallm perplexity` evaluates each chunk through: none
    /// (the whole chunk at once, exact) for f32, else a fresh cache of
    /// these types per chunk.
    pub fn perplexity_cache(
        &self,
        config: &LlamaConfig,
        ctx: usize,
        device: &Device,
    ) -> Result<Option<CacheFactory>> {
        let types = self.types();
        if types.is_f32() {
            return Ok(None);
        }
        Ok(Some(types.factory(config, ctx, device)?))
    }
}

/// One line on what the KV cache costs, e.g.
/// `KV cache K q8_0 / V q8_0: 12240 B/token, 47.8 MiB for 4096 positions`.
pub fn cache_line(session: &Session) -> String {
    format!(
        "KV cache {}: {} B/token, {:.1} MiB for {} positions",
        session.cache_types(),
        session.cache_bytes_per_token(),
        session.cache_bytes() as f64 / (1024.0 * 1024.0),
        session.context()
    )
}

pub fn run(args: Args) -> Result<()> {
    args.sampling.thread_pool()?;
    let prompt = prompt_text(&args)?;
    let l = match args.lora.as_deref() {
        // an adapter is attached to f32 weights
        Some(lora) => super::lora::with_lora(loaded::load(args.model.as_deref())?, Some(lora))?,
        None => loaded::load_for_inference(args.model.as_deref())?,
    };
    let ids = if args.raw {
        // a raw prompt is markup too: special-token text in it is parsed, as llama.cpp does
        l.tokenizer.encode_prompt(&prompt)?
    } else {
        let mut messages = Vec::new();
        if let Some(system) = &args.system {
            messages.push(Message::system(system));
        }
        messages.push(Message::user(prompt));
        l.tokenizer
            .chat_ids(&l.tokenizer.chat_template()?, &messages)?
    };
    let ctx = args.sampling.ctx.min(l.model.config.context_length);
    let mut session = args.cache.session(&l.model, ctx, &l.device)?;
    let cache = cache_line(&session);
    let stop_tokens = if args.ignore_eos {
        vec![]
    } else {
        l.tokenizer.stop_tokens().to_vec()
    };
    let answerer = args.sampling.answerer(&l.tokenizer, stop_tokens)?;
    let tokenizer = l.tokenizer.clone();
    let mut out = std::io::stdout().lock();
    let never = AtomicBool::new(false);
    let answer = answerer.stream(&mut session, &tokenizer, &ids, &mut out, &never)?;
    writeln!(out)?;
    eprintln!("{} (finish: {:?}); {cache}", answer.stats, answer.finish);
    Ok(())
}

/// `--prompt TEXT`, or `--file PATH` (`-` for stdin), read whole.
fn prompt_text(args: &Args) -> Result<String> {
    match (&args.prompt, &args.file) {
        (Some(text), None) => Ok(text.clone()),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the prompt from stdin")?;
            Ok(text)
        }
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the prompt file {}", path.display())),
        _ => unreachable!("clap requires exactly one of --prompt and --file"),
    }
}
