//! `locallm chat`: an interactive, streamed, multi-turn conversation.
//!
//! Each turn re-renders the whole conversation through the model's own chat
//! template; the session's KV cache already holds the earlier turns, so only
//! the new part of the prompt is computed. The line editor (rustyline) gives
//! the keys a shell gives: arrows, Ctrl-A/E, Up for the lines typed before.
//! Ctrl-C while the model answers stops that answer and keeps the session;
//! Ctrl-C at an empty prompt, Ctrl-D, `/exit` or `/quit` end it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use locallm_tokenizer::Message;
use rustyline::error::ReadlineError;
use rustyline::{
    Cmd, ConditionalEventHandler, DefaultEditor, Event, EventContext, EventHandler, KeyEvent,
    Movement, RepeatCount,
};

use super::generate::{CacheArgs, SamplingArgs, cache_line};
use crate::answer::Finish;
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

const HELP: &str = "\
/clear        forget the conversation (the system message stays)
/system TEXT  set the system message
/save FILE    write the conversation as JSON
/help         this list
/exit, /quit  end (also Ctrl-D, or Ctrl-C at an empty prompt)
Ctrl-C while the model answers stops the answer.";

/// Set by SIGINT while an answer streams; [`ANSWERING`] says one does.
static INTERRUPT: AtomicBool = AtomicBool::new(false);
static ANSWERING: AtomicBool = AtomicBool::new(false);

/// Ctrl-C outside the line editor: during an answer it stops the answer;
/// otherwise (reading a pipe, loading) it ends the program as it would
/// have without this handler. Only atomics and `_exit`: async-signal-safe.
extern "C" fn on_sigint(_: libc::c_int) {
    if ANSWERING.load(Ordering::SeqCst) {
        INTERRUPT.store(true, Ordering::SeqCst);
    } else {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) }
    }
}

/// Ctrl-C in the line editor: clears a line that has text, ends the chat
/// at an empty one.
struct CtrlC;

impl ConditionalEventHandler for CtrlC {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        Some(if ctx.line().is_empty() {
            Cmd::Interrupt
        } else {
            Cmd::Kill(Movement::WholeLine)
        })
    }
}

pub fn run(args: Args) -> Result<()> {
    args.sampling.thread_pool()?;
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
    let answerer = args
        .sampling
        .answerer(&l.tokenizer, l.tokenizer.stop_tokens().to_vec())?;
    let tokenizer = l.tokenizer.clone();
    let mut messages: Vec<Message> = args.system.iter().map(Message::system).collect();
    eprintln!(
        "Chatting with {} ({} tokens of context; {}). /help for commands, Ctrl-D to quit.",
        l.name(),
        ctx,
        cache_line(&session)
    );

    let mut editor = DefaultEditor::new().context("cannot set up the line editor")?;
    editor.bind_sequence(
        KeyEvent::ctrl('C'),
        EventHandler::Conditional(Box::new(CtrlC)),
    );
    // SAFETY: the handler only touches atomics and calls _exit.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
    let mut stdout = std::io::stdout();
    loop {
        let line = match editor.readline("> ") {
            Ok(line) => line,
            Err(ReadlineError::Eof | ReadlineError::Interrupted) => break,
            Err(err) => return Err(err).context("cannot read the input"),
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        editor.add_history_entry(line)?;
        if let Some(command) = line.strip_prefix('/') {
            match slash_command(command, &mut messages, l.name())? {
                Flow::Continue => continue,
                Flow::Exit => break,
                Flow::NotACommand => {}
            }
        }
        messages.push(Message::user(line));
        let ids = l.tokenizer.chat_ids(&template, &messages)?;
        INTERRUPT.store(false, Ordering::SeqCst);
        ANSWERING.store(true, Ordering::SeqCst);
        let answer = answerer.stream(&mut session, &tokenizer, &ids, &mut stdout, &INTERRUPT);
        ANSWERING.store(false, Ordering::SeqCst);
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                // the conversation no longer fits: say so, and keep what was said
                eprintln!("error: {err:#}. /clear starts a new chat; or raise -c.");
                messages.pop();
                continue;
            }
        };
        println!();
        if answer.finish == Finish::Interrupted {
            eprintln!("[stopped]");
        }
        eprintln!("[{}]", answer.stats);
        // an answer cut short stays in the conversation as far as it went
        messages.push(Message::assistant(answer.text.trim()));
    }
    Ok(())
}

enum Flow {
    Continue,
    Exit,
    /// `/` then something that is no command: sent as a message.
    NotACommand,
}

/// `/clear`, `/system TEXT`, `/save FILE`, `/help`, `/exit`.
fn slash_command(command: &str, messages: &mut Vec<Message>, model: &str) -> Result<Flow> {
    let (name, rest) = command.split_once(' ').unwrap_or((command, ""));
    let rest = rest.trim();
    match name {
        "exit" | "quit" => return Ok(Flow::Exit),
        "help" => eprintln!("{HELP}"),
        "clear" => {
            messages.retain(|m| m.role == "system");
            eprintln!("[conversation cleared]");
        }
        "system" if rest.is_empty() => eprintln!("usage: /system TEXT"),
        "system" => {
            messages.retain(|m| m.role != "system");
            messages.insert(0, Message::system(rest));
            eprintln!("[system message set]");
        }
        "save" if rest.is_empty() => eprintln!("usage: /save FILE"),
        "save" => match save(Path::new(rest), messages, model) {
            Ok(()) => eprintln!("[saved {} messages to {rest}]", messages.len()),
            // a bad path loses nothing: say so and go on
            Err(err) => eprintln!("error: {err:#}"),
        },
        _ if name.contains('/') => return Ok(Flow::NotACommand), // e.g. a path
        _ => eprintln!("unknown command /{name}; /help lists them"),
    }
    Ok(Flow::Continue)
}

/// The conversation as JSON: `{"model": ..., "messages": [{"role", "content"}]}`,
/// the shape chat APIs take, so a transcript can be sent back to `serve`.
fn save(path: &Path, messages: &[Message], model: &str) -> Result<()> {
    let json = serde_json::json!({ "model": model, "messages": messages });
    let text = serde_json::to_string_pretty(&json)? + "\n";
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
