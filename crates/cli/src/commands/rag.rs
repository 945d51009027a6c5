//! `locallm rag`: answers from your own files (chapter 6).
//!
//! `search` cuts the files into chunks and ranks them for a question with
//! BM25; `ask` puts the best chunks into the prompt and lets the chat model
//! answer, citing them. Both read the files afresh each time: fine for a
//! book-sized folder, which BM25 ranks in milliseconds.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Subcommand};
use locallm_rag::{Bm25, Bm25Params, Chunk, chunk_text, rag_prompt, tokenize};
use locallm_tokenizer::Message;

use super::generate::SamplingArgs;
use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rank the chunks of the files for a question (BM25).
    Search {
        #[command(flatten)]
        corpus: Corpus,
        /// The question.
        question: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Answer a question from the best chunks, citing them.
    Ask {
        #[command(flatten)]
        corpus: Corpus,
        /// The question.
        question: String,
        /// GGUF model file (default: SmolLM2-135M-Instruct, fetched on first use).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Ask without the sources, to see what retrieval changes.
        #[arg(long)]
        no_retrieval: bool,
        #[command(flatten)]
        sampling: SamplingArgs,
    },
}

/// The documents and how they are cut.
#[derive(ClapArgs)]
struct Corpus {
    /// Files, or folders whose .md and .txt files are read (repeatable).
    #[arg(long = "docs", required = true)]
    docs: Vec<PathBuf>,
    /// Chunk size, in words.
    #[arg(long, default_value_t = 120)]
    chunk_words: usize,
    /// Words shared by consecutive chunks.
    #[arg(long, default_value_t = 30)]
    overlap_words: usize,
    /// How many chunks to return.
    #[arg(short, long, default_value_t = 3)]
    k: usize,
}

/// One retrieved chunk and where it came from.
struct Hit {
    source: PathBuf,
    chunk: Chunk,
    score: f32,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Search {
            corpus,
            question,
            json,
        } => {
            let hits = corpus.search(&question)?;
            if json {
                let hits: Vec<_> = hits
                    .iter()
                    .map(|h| {
                        serde_json::json!({"source": h.source, "start": h.chunk.start,
                        "end": h.chunk.end, "score": h.score, "text": h.chunk.text})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&hits)?);
                return Ok(());
            }
            let mut out = std::io::stdout().lock();
            for (i, h) in hits.iter().enumerate() {
                let (start, end) = (h.chunk.start, h.chunk.end);
                let source = h.source.display();
                writeln!(
                    out,
                    "[{}] {source} (bytes {start}..{end}), score {:.2}",
                    i + 1,
                    h.score
                )?;
                writeln!(out, "{}\n", h.chunk.text)?;
            }
            Ok(())
        }
        Command::Ask {
            corpus,
            question,
            model,
            no_retrieval,
            sampling,
        } => {
            let hits = if no_retrieval {
                Vec::new()
            } else {
                corpus.search(&question)?
            };
            let l = loaded::load(model.as_deref())?;
            let content = if no_retrieval {
                question.clone()
            } else {
                let sources: Vec<(String, &str)> = hits
                    .iter()
                    .map(|h| (h.source.display().to_string(), h.chunk.text.as_str()))
                    .collect();
                let sources: Vec<(&str, &str)> =
                    sources.iter().map(|(s, t)| (s.as_str(), *t)).collect();
                rag_prompt(&question, &sources)
            };
            let text = l
                .tokenizer
                .chat_template()?
                .render(&[Message::new("user", content)], true)?;
            let ids = l.tokenizer.encode_prompt(&text)?;
            let ctx = sampling.ctx.min(l.model.config.context_length);
            if ids.len() >= ctx {
                bail!(
                    "the prompt with its sources has {} tokens, more than the context of {ctx}: use a smaller -k or --chunk-words",
                    ids.len()
                );
            }
            let mut session = locallm_infer::Session::new(&l.model, ctx, &l.device);
            let generation =
                session.generate(&ids, sampling.options(l.tokenizer.stop_tokens().to_vec()))?;
            let mut decoder = l.tokenizer.decoder();
            let mut out = std::io::stdout().lock();
            for token in generation {
                out.write_all(decoder.push(token)?.as_bytes())?;
                out.flush()?;
            }
            writeln!(out, "{}", decoder.finish())?;
            if !hits.is_empty() {
                writeln!(out, "\nSources:")?;
                for (i, h) in hits.iter().enumerate() {
                    writeln!(
                        out,
                        "[{}] {} (bytes {}..{})",
                        i + 1,
                        h.source.display(),
                        h.chunk.start,
                        h.chunk.end
                    )?;
                }
            }
            Ok(())
        }
    }
}

impl Corpus {
    /// Every chunk of every file, ranked for `question`; the best `k`.
    fn search(&self, question: &str) -> Result<Vec<Hit>> {
        let mut chunks = Vec::new();
        for path in self.files()? {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let words = |s: &str| s.split_whitespace().count();
            for chunk in chunk_text(&text, self.chunk_words, self.overlap_words, words) {
                chunks.push((path.clone(), chunk));
            }
        }
        if chunks.is_empty() {
            bail!("no text to search in {:?}", self.docs);
        }
        let terms: Vec<Vec<String>> = chunks.iter().map(|(_, c)| tokenize(&c.text)).collect();
        let index = Bm25::new(&terms, Bm25Params::default());
        let hits = index.search(&tokenize(question), self.k);
        Ok(hits
            .into_iter()
            .map(|(i, score)| Hit {
                source: chunks[i].0.clone(),
                chunk: chunks[i].1.clone(),
                score,
            })
            .collect())
    }

    /// The files named, and the .md/.txt files inside the folders named,
    /// in a stable order.
    fn files(&self) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for path in &self.docs {
            if path.is_dir() {
                collect(path, &mut files)?;
            } else if path.is_file() {
                files.push(path.clone());
            } else {
                bail!("{} is neither a file nor a folder", path.display());
            }
        }
        Ok(files)
    }
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "md" || e == "txt") {
            files.push(path);
        }
    }
    Ok(())
}
