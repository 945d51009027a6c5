//! The flags every generating command shares (`generate`, `chat`, `rag
//! ask`), spelled as llama.cpp's `llama-cli` spells them (`-n`, `-c`, `-s`,
//! `-t`, `--temp`, `--stop`, `--json-schema`, `--grammar`, `--grammar-file`;
//! the project's older long names stay as aliases), and one answer streamed
//! out under them.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use locallm_infer::{
    FinishReason, GbnfGrammar, GenerateOptions, GenerationStats, Grammar, JsonGrammar,
    SamplerConfig, Session, TokenTrie,
};
use locallm_serve::stop::{Scan, StopMatcher};
use locallm_tokenizer::Tokenizer;

/// Sampling, length and output flags; the sampling defaults are the
/// library's ([`SamplerConfig::default`]).
#[derive(ClapArgs, Clone)]
pub struct SamplingArgs {
    /// Maximum number of tokens to generate (llama.cpp's -n).
    #[arg(short = 'n', long = "n-predict", visible_alias = "max-tokens", value_name = "N",
          default_value_t = GenerateOptions::default().max_tokens)]
    pub max_tokens: usize,
    /// Softmax temperature; 0 means greedy.
    #[arg(long = "temp", visible_alias = "temperature", value_name = "T",
          default_value_t = SamplerConfig::default().temperature)]
    pub temperature: f32,
    /// Keep only the K most likely tokens (0 = off).
    #[arg(long, value_name = "K", default_value_t = SamplerConfig::default().top_k)]
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches P.
    #[arg(long, value_name = "P", default_value_t = SamplerConfig::default().top_p)]
    pub top_p: f32,
    /// Drop tokens less likely than MIN_P times the most likely one.
    #[arg(long, default_value_t = SamplerConfig::default().min_p)]
    pub min_p: f32,
    /// Penalty for repeating recent tokens (1.0 = off).
    #[arg(long, value_name = "X", default_value_t = SamplerConfig::default().repeat_penalty)]
    pub repeat_penalty: f32,
    /// Seed of the sampler's random numbers (the same seed reproduces a run).
    #[arg(short = 's', long, default_value_t = SamplerConfig::default().seed)]
    pub seed: u64,
    /// Context size in tokens (KV cache positions), llama.cpp's -c.
    #[arg(
        short = 'c',
        long = "ctx-size",
        visible_alias = "ctx",
        value_name = "N",
        default_value_t = 4096
    )]
    pub ctx: usize,
    /// Threads for the forward pass (default: all cores).
    #[arg(short = 't', long, value_name = "N")]
    pub threads: Option<usize>,
    /// End the answer before this text (repeatable); it is not printed.
    #[arg(long = "stop", value_name = "TEXT")]
    pub stop: Vec<String>,
    /// The answer is JSON valid under this JSON Schema (inline), as
    /// llama.cpp's -j; `{}` for any JSON.
    #[arg(
        short = 'j',
        long,
        value_name = "SCHEMA",
        conflicts_with_all = ["json_schema_file", "grammar", "grammar_file"]
    )]
    pub json_schema: Option<String>,
    /// --json-schema read from a file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["grammar", "grammar_file"])]
    pub json_schema_file: Option<PathBuf>,
    /// The answer matches this GBNF grammar (llama.cpp's format, start
    /// rule `root`), e.g. 'root ::= "yes" | "no"'.
    #[arg(long, value_name = "GBNF", conflicts_with = "grammar_file")]
    pub grammar: Option<String>,
    /// --grammar read from a file (llama-cli's --grammar-file syntax;
    /// token references such as <|im_end|> are refused).
    #[arg(long, value_name = "FILE")]
    pub grammar_file: Option<PathBuf>,
}

/// Where an answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// A stop token, the length limit or a full context.
    Generation(FinishReason),
    /// One of the `--stop` texts.
    StopText,
    /// The user pressed Ctrl-C.
    Interrupted,
}

/// One answer: its text (without a stop text), why it ended, how fast.
pub struct Answer {
    pub text: String,
    pub finish: Finish,
    pub stats: GenerationStats,
}

/// The settings of one command run, checked once: sampling, stop texts and
/// the grammar.
pub struct Answerer {
    options: GenerateOptions,
    stop: Vec<String>,
    grammar: Option<(Grammar, Arc<TokenTrie>)>,
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

    /// Sets up rayon's global pool with `--threads` (before anything uses
    /// it, so call this first); without the flag rayon's default (all cores).
    pub fn thread_pool(&self) -> Result<()> {
        match self.threads {
            None => Ok(()),
            Some(n) => super::commands::bench::thread_pool(Some(n)).map(|_| ()),
        }
    }

    /// The grammar `--json-schema`/`--json-schema-file` or
    /// `--grammar`/`--grammar-file` ask for (clap lets at most one through).
    fn grammar(&self) -> Result<Option<Grammar>> {
        let gbnf = match (&self.grammar, &self.grammar_file) {
            (Some(text), _) => Some(("--grammar".to_string(), text.clone())),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read --grammar-file {}", path.display()))?;
                Some((format!("--grammar-file {}", path.display()), text))
            }
            (None, None) => None,
        };
        if let Some((flag, text)) = gbnf {
            let grammar = GbnfGrammar::parse(&text).with_context(|| flag)?;
            return Ok(Some(Grammar::Gbnf(Arc::new(grammar))));
        }
        let text = match (&self.json_schema, &self.json_schema_file) {
            (Some(text), _) => text.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --json-schema-file {}", path.display()))?,
            (None, None) => return Ok(None),
        };
        let schema: serde_json::Value =
            serde_json::from_str(&text).context("--json-schema is not valid JSON")?;
        Ok(Some(Grammar::Json(Arc::new(
            JsonGrammar::from_schema(&schema).context("--json-schema")?,
        ))))
    }

    /// The checked settings, for `tokenizer`'s model; `stop_tokens` end the
    /// answer (empty for `--ignore-eos`).
    pub fn answerer(&self, tokenizer: &Tokenizer, stop_tokens: Vec<u32>) -> Result<Answerer> {
        let grammar = self
            .grammar()?
            .map(|g| (g, Arc::new(TokenTrie::new(tokenizer))));
        Ok(Answerer {
            options: self.options(stop_tokens),
            stop: self.stop.clone(),
            grammar,
        })
    }
}

impl Answerer {
    /// Generates from `prompt`, writing the text to `out` as it comes;
    /// stops early when `interrupt` is set (Ctrl-C in the chat).
    pub fn stream(
        &self,
        session: &mut Session,
        tokenizer: &Arc<Tokenizer>,
        prompt: &[u32],
        out: &mut dyn Write,
        interrupt: &AtomicBool,
    ) -> Result<Answer> {
        let mut generation = session.generate(prompt, self.options.clone())?;
        if let Some((grammar, trie)) = &self.grammar {
            generation =
                generation.with_constraint(grammar.constraint(trie.clone(), tokenizer.clone()));
        }
        let mut decoder = tokenizer.decoder();
        let mut stops = StopMatcher::new(self.stop.clone());
        let mut text = String::new();
        let mut finish = None;
        for token in generation.by_ref() {
            if interrupt.load(Ordering::Relaxed) {
                finish = Some(Finish::Interrupted);
                break;
            }
            let piece = match stops.push(&decoder.push(token)?) {
                Scan::Text(piece) => piece,
                Scan::Stopped { text: piece, .. } => {
                    finish = Some(Finish::StopText);
                    piece
                }
            };
            out.write_all(piece.as_bytes())?;
            out.flush()?;
            text.push_str(&piece);
            if finish.is_some() {
                break;
            }
        }
        if finish.is_none() {
            // the end: what the decoder and the stop matcher still hold
            let rest = match stops.push(&decoder.finish()) {
                Scan::Text(piece) => piece + &stops.finish(),
                Scan::Stopped { text, .. } => {
                    finish = Some(Finish::StopText);
                    text
                }
            };
            out.write_all(rest.as_bytes())?;
            text.push_str(&rest);
        }
        let finish = finish
            .unwrap_or_else(|| Finish::Generation(generation.finish_reason().expect("finished")));
        Ok(Answer {
            text,
            finish,
            stats: generation.stats(),
        })
    }
}
