//! The whole retrieval pipeline in library calls: ingest a folder of
//! Markdown into a SQLite store, then find the chunks nearest a question.
//!
//! `cargo run --release -p locallm-rag --example pipeline -- book/src store.db "What is RoPE?"`

use std::path::Path;

use anyhow::Result;
use locallm_rag::{ChunkWords, MiniLm, SqliteStore, VectorStore, ingest, rag_prompt};

// ANCHOR: pipeline
fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, docs, db, question] = &args[..] else {
        anyhow::bail!("usage: pipeline DOCS_DIR STORE.db QUESTION");
    };
    // the embedding model (fetched once) and the store (one file)
    let embedder = MiniLm::load_default(&locallm_model::default_device()?)?;
    let mut store = SqliteStore::open(Path::new(db))?;
    // ingest: chunk, embed, store; a document already there is skipped
    for entry in std::fs::read_dir(docs)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "md") {
            let text = std::fs::read_to_string(&path)?;
            let source = path.display().to_string();
            ingest(&mut store, &embedder, &source, &text, ChunkWords::default())?;
        }
    }
    // retrieve: the three chunks nearest the question by cosine
    let hits = store.search(&embedder.embed(question), 3)?;
    let sources: Vec<(&str, &str)> = hits
        .iter()
        .map(|h| (h.chunk.source.as_str(), h.chunk.text.as_str()))
        .collect();
    // the prompt the chat model answers (see `locallm rag ask`)
    println!("{}", rag_prompt(question, &sources));
    Ok(())
}
// ANCHOR_END: pipeline
