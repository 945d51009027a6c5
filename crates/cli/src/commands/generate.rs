//! `locallm generate`: one prompt in, its continuation on stdout.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;
use locallm_infer::{CacheFactory, CacheType, CacheTypes, GenerateOptions, SamplerConfig, Session};
use locallm_model::{Device, LlamaConfig};

use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF file or model name (see `locallm list`; default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// The prompt.
    #[arg(long)]
    pub prompt: String,
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
    /// `--ignore-eos`): exactly --max-tokens tokens, for measurements.
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

/// Sampling and length flags shared by `generate` and `chat`; the sampling
/// defaults are the library's ([`SamplerConfig::default`]).
#[derive(ClapArgs, Clone)]
pub struct SamplingArgs {
    /// Maximum number of tokens to generate.
    #[arg(long, default_value_t = GenerateOptions::default().max_tokens)]
    pub max_tokens: usize,
    /// Softmax temperature; 0 means greedy.
    #[arg(long, default_value_t = SamplerConfig::default().temperature)]
    pub temperature: f32,
    /// Keep only the K most likely tokens (0 = off).
    #[arg(long, default_value_t = SamplerConfig::default().top_k)]
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches P.
    #[arg(long, default_value_t = SamplerConfig::default().top_p)]
    pub top_p: f32,
    /// Drop tokens less likely than MIN_P times the most likely one.
    #[arg(long, default_value_t = SamplerConfig::default().min_p)]
    pub min_p: f32,
    /// Penalty for repeating recent tokens (1.0 = off).
    #[arg(long, default_value_t = SamplerConfig::default().repeat_penalty)]
    pub repeat_penalty: f32,
    /// Seed of the sampler's random numbers (the same seed reproduces a run).
    #[arg(long, default_value_t = SamplerConfig::default().seed)]
    pub seed: u64,
    /// Context size in tokens (KV cache positions).
    #[arg(long, default_value_t = 4096)]
    pub ctx: usize,
}

impl SamplingArgs {
    pub fn options(&self, stop_tokens: Vec<u32>) -> GenerateOptions {
        let sampler = SamplerConfig {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            min_p: self.min_p,
            repeat_penalty: self.repeat_penalty,
            seed: self.seed,
            ..SamplerConfig::default()
        };
        GenerateOptions {
            max_tokens: self.max_tokens,
            sampler,
            stop_tokens,
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let l = match args.lora.as_deref() {
        // an adapter is attached to f32 weights
        Some(lora) => super::lora::with_lora(loaded::load(args.model.as_deref())?, Some(lora))?,
        None => loaded::load_for_inference(args.model.as_deref())?,
    };
    let ids = if args.raw {
        l.tokenizer.encode_prompt(&args.prompt)?
    } else {
        let mut messages = Vec::new();
        if let Some(system) = &args.system {
            messages.push(locallm_tokenizer::Message::new("system", system));
        }
        messages.push(locallm_tokenizer::Message::new("user", &args.prompt));
        let text = l.tokenizer.chat_template()?.render(&messages, true)?;
        l.tokenizer.encode_prompt(&text)?
    };
    let ctx = args.sampling.ctx.min(l.model.config.context_length);
    let mut session = args.cache.session(&l.model, ctx, &l.device)?;
    let cache = cache_line(&session);
    let mut generation = session.generate(
        &ids,
        args.sampling.options(if args.ignore_eos {
            vec![]
        } else {
            l.tokenizer.stop_tokens().to_vec()
        }),
    )?;
    let mut decoder = l.tokenizer.decoder();
    let mut out = std::io::stdout().lock();
    for token in generation.by_ref() {
        out.write_all(decoder.push(token)?.as_bytes())?;
        out.flush()?;
    }
    out.write_all(decoder.finish().as_bytes())?;
    writeln!(out)?;
    eprintln!(
        "{} (finish: {:?}); {cache}",
        generation.stats(),
        generation.finish_reason().expect("finished")
    );
    Ok(())
}
