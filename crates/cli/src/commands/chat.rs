//! `locallm chat`: an interactive, streamed, multi-turn conversation.
//!
//! Each turn re-renders the whole conversation through the model's own chat
//! template; the session's KV cache already holds the earlier turns, so only
//! the new part of the prompt is computed.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;
use locallm_tokenizer::Message;

use super::generate::{CacheArgs, SamplingArgs, cache_line};
use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// GGUF file or model name (see `locallm list`; default: SmolLM2-135M-Instruct, fetched on first use).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// A system message that starts the conversation.
    #[arg(long)]
    pub system: Option<String>,
    /// A LoRA adapter directory (PEFT layout), applied unmerged.
    #[arg(long)]
    pub lora: Option<PathBuf>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
}

pub fn run(args: Args) -> Result<()> {
    let l = match args.lora.as_deref() {
        // an adapter is attached to f32 weights
        Some(lora) => super::lora::with_lora(loaded::load(args.model.as_deref())?, Some(lora))?,
        None => loaded::load_for_inference(args.model.as_deref())?,
    };
    let template = match l.tokenizer.chat_template() {
        Err(locallm_tokenizer::TokenizerError::NoChatTemplate) => anyhow::bail!(
            "{} has no chat template (`tokenizer.chat_template`): it is a base model, which \
             continues text instead of answering turns; use `locallm generate --raw --prompt TEXT`",
            l.name()
        ),
        t => t?,
    };
    let ctx = args.sampling.ctx.min(l.model.config.context_length);
    let mut session = args.cache.session(&l.model, ctx, &l.device)?;
    let mut messages: Vec<Message> = args
        .system
        .iter()
        .map(|s| Message::new("system", s))
        .collect();
    eprintln!(
        "Chatting with {} ({} tokens of context; {}). /exit or Ctrl-D to quit.",
        l.name(),
        ctx,
        cache_line(&session)
    );

    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    loop {
        write!(stdout, "> ")?;
        stdout.flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            writeln!(stdout)?;
            break; // Ctrl-D
        }
        let line = line.trim();
        if line == "/exit" || line == "/quit" {
            break;
        }
        if line.is_empty() {
            continue;
        }
        messages.push(Message::new("user", line));
        let ids = l
            .tokenizer
            .encode_prompt(&template.render(&messages, true)?)?;
        let mut generation = match session.generate(
            &ids,
            args.sampling.options(l.tokenizer.stop_tokens().to_vec()),
        ) {
            Ok(g) => g,
            Err(err) => {
                // the conversation no longer fits: say so, and keep what was said
                eprintln!("error: {err}. Start a new chat, or raise --ctx.");
                messages.pop();
                continue;
            }
        };
        let mut decoder = l.tokenizer.decoder();
        let mut answer = String::new();
        for token in generation.by_ref() {
            let piece = decoder.push(token)?;
            answer.push_str(&piece);
            write!(stdout, "{piece}")?;
            stdout.flush()?;
        }
        let rest = decoder.finish();
        answer.push_str(&rest);
        writeln!(stdout, "{rest}")?;
        eprintln!("[{}]", generation.stats());
        messages.push(Message::new("assistant", answer.trim()));
    }
    Ok(())
}
