//! `locallm rag`: answers from your own files (chapters 6 and 24).
//!
//! `search` cuts the files into chunks and ranks them for a question with
//! BM25; `ask` puts the best chunks into the prompt and lets the chat model
//! answer, citing them. With `--docs` both read the files afresh each time:
//! fine for a book-sized folder, which BM25 ranks in milliseconds. `ingest`
//! embeds the chunks once (MiniLM) into a SQLite store, and `ask --db`
//! retrieves from it by meaning. `eval` measures recall@1/@5 of BM25, dense
//! and hybrid retrieval on a question set.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use locallm_rag::{
    Bm25, Bm25Params, Chunk, ChunkWords, MiniLm, Ranker, SqliteStore, VectorStore, chunk_text,
    rag_prompt, tokenize,
};
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
    /// Chunk, embed (all-MiniLM-L6-v2) and store files; already stored ones are skipped.
    Ingest {
        /// Files, or folders whose .md and .txt files are read.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The store (a SQLite file, created if missing).
        #[arg(long)]
        db: PathBuf,
        /// Chunk size, in words.
        #[arg(long, default_value_t = 120)]
        chunk_words: usize,
        /// Words shared by consecutive chunks.
        #[arg(long, default_value_t = 30)]
        overlap_words: usize,
    },
    /// Recall@1 and @5 of BM25, dense and hybrid retrieval on a question set.
    Eval {
        /// Files, or folders whose .md and .txt files are read.
        #[arg(long = "docs", required = true)]
        docs: Vec<PathBuf>,
        /// JSON Lines: {"question", "file", "phrase"} per line.
        #[arg(long)]
        questions: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Answer a question from the best chunks, citing them.
    Ask {
        /// Retrieve from this store (see `ingest`) instead of reading --docs.
        #[arg(long)]
        db: Option<PathBuf>,
        #[command(flatten)]
        corpus: Corpus,
        /// The question.
        question: String,
        /// GGUF file or model name (see `locallm list`; default: SmolLM2-135M-Instruct, fetched on first use).
        #[arg(short = 'm', long)]
        model: Option<PathBuf>,
        /// Ask without the sources, to see what retrieval changes.
        #[arg(long)]
        no_retrieval: bool,
        #[command(flatten)]
        sampling: Box<SamplingArgs>,
    },
}

/// The documents and how they are cut.
#[derive(ClapArgs)]
struct Corpus {
    /// Files, or folders whose .md and .txt files are read (repeatable).
    #[arg(long = "docs")]
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
    /// Where in the source: "bytes a..b" (from --docs) or "chunk n" (from --db).
    place: String,
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
        Command::Ingest {
            paths,
            db,
            chunk_words,
            overlap_words,
        } => ingest(&paths, &db, chunk_words, overlap_words),
        Command::Eval {
            docs,
            questions,
            json,
        } => eval(&docs, &questions, json),
        Command::Ask {
            db,
            corpus,
            question,
            model,
            no_retrieval,
            sampling,
        } => {
            sampling.thread_pool()?;
            let hits = if no_retrieval {
                Vec::new()
            } else if let Some(db) = &db {
                search_store(db, &question, corpus.k)?
            } else {
                corpus.search(&question)?
            };
            let l = loaded::load_for_inference(model.as_deref())?;
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
            let ids = l
                .tokenizer
                .chat_ids(&l.tokenizer.chat_template()?, &[Message::user(content)])?;
            let ctx = sampling.ctx.min(l.model.config.context_length);
            if ids.len() >= ctx {
                bail!(
                    "the prompt with its sources has {} tokens, more than the context of {ctx}: use a smaller -k or --chunk-words",
                    ids.len()
                );
            }
            let mut session = locallm_infer::Session::new(&l.model, ctx, &l.device);
            let answerer = sampling.answerer(&l.tokenizer, l.tokenizer.stop_tokens().to_vec())?;
            let tokenizer = l.tokenizer.clone();
            let mut out = std::io::stdout().lock();
            let never = std::sync::atomic::AtomicBool::new(false);
            answerer.stream(&mut session, &tokenizer, &ids, &mut out, &never)?;
            writeln!(out)?;
            if !hits.is_empty() {
                writeln!(out, "\nSources:")?;
                for (i, h) in hits.iter().enumerate() {
                    writeln!(out, "[{}] {} ({})", i + 1, h.source.display(), h.place)?;
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
                place: format!("bytes {}..{}", chunks[i].1.start, chunks[i].1.end),
                chunk: chunks[i].1.clone(),
                score,
            })
            .collect())
    }

    /// The files named, and the .md/.txt files inside the folders named,
    /// in a stable order.
    fn files(&self) -> Result<Vec<PathBuf>> {
        if self.docs.is_empty() {
            bail!("name the documents with --docs PATH (or a store with --db FILE for `ask`)");
        }
        files(&self.docs)
    }
}

/// The files named, and the .md/.txt files inside the folders named.
fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
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

fn bar(len: usize) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
        )
        .expect("template"),
    );
    bar
}

/// `rag ingest`: every file into the store, one transaction each.
fn ingest(paths: &[PathBuf], db: &Path, chunk_words: usize, overlap_words: usize) -> Result<()> {
    let files = files(paths)?;
    let mut store = SqliteStore::open(db)?;
    let embedder = MiniLm::load_default(&crate::loaded::device()?)?;
    let cut = ChunkWords {
        size: chunk_words,
        overlap: overlap_words,
    };
    let bar = bar(files.len());
    let (mut added, mut skipped) = (0, 0);
    for path in &files {
        bar.set_message(path.display().to_string());
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let source = path.display().to_string();
        if locallm_rag::ingest(&mut store, &embedder, &source, &text, cut)? {
            added += 1;
        } else {
            skipped += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    eprintln!(
        "{added} documents added, {skipped} already there; {} chunks in {}",
        store.count()?,
        db.display()
    );
    Ok(())
}

/// The `k` chunks of the store nearest to `question` by meaning.
fn search_store(db: &Path, question: &str, k: usize) -> Result<Vec<Hit>> {
    if !db.exists() {
        bail!(
            "no store at {}: create it with `locallm rag ingest DIR --db {0}`",
            db.display()
        );
    }
    let store = SqliteStore::open(db)?;
    let embedder = MiniLm::load_default(&crate::loaded::device()?)?;
    let hits = store.search(&locallm_rag::Embedder::embed(&embedder, question), k)?;
    Ok(hits
        .into_iter()
        .map(|h| Hit {
            source: PathBuf::from(&h.chunk.source),
            place: format!("chunk {}", h.chunk.seq),
            chunk: Chunk {
                text: h.chunk.text,
                start: 0,
                end: 0,
            },
            score: h.score,
        })
        .collect())
}

/// `rag eval`: every chunk of `docs` embedded, then recall per method.
fn eval(docs: &[PathBuf], questions: &Path, json: bool) -> Result<()> {
    let questions = locallm_rag::eval::load_questions(questions).map_err(anyhow::Error::msg)?;
    let embedder = MiniLm::load_default(&crate::loaded::device()?)?;
    let cut = ChunkWords::default();
    let documents = files(docs)?
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok((path.display().to_string(), text))
        })
        .collect::<Result<Vec<_>>>()?;
    let bar = bar(0);
    bar.set_message("embedding the chunks");
    let ranker = Ranker::build(&documents, &embedder, cut, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    let recalls = locallm_rag::eval::evaluate(&ranker, &embedder, &questions);
    if json {
        let rows: Vec<_> = recalls
            .iter()
            .map(|r| {
                serde_json::json!({"method": r.method.name(), "recall_at_1": r.at1,
                                   "recall_at_5": r.at5, "questions": r.questions})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{} questions, {} chunks ({} words, {} overlap)\n",
        questions.len(),
        ranker.chunks.len(),
        cut.size,
        cut.overlap
    );
    println!("| method | recall@1 | recall@5 |\n|---|---|---|");
    for r in &recalls {
        println!("| {} | {:.2} | {:.2} |", r.method.name(), r.at1, r.at5);
    }
    Ok(())
}
