//! The pipeline: documents in, ranked chunks out.
//!
//! `ingest` cuts a document into chunks, embeds them and stores them (one
//! transaction, skipped if the document's content hash is already there);
//! `retrieve` ranks the stored chunks for a question three ways — BM25,
//! dense (cosine of embeddings), and hybrid (their reciprocal rank fusion).

use crate::bm25::{Bm25, Bm25Params, tokenize};
use crate::chunk::chunk_text;
use crate::embed::Embedder;
use crate::hybrid::{RRF_K, reciprocal_rank_fusion};
use crate::store::{NewChunk, StoreError, StoredChunk, VectorStore, content_hash};

/// How documents are cut: chunk size and overlap, in words.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkWords {
    pub size: usize,
    pub overlap: usize,
}

impl Default for ChunkWords {
    /// About 160 MiniLM tokens: under its 256-token cut, and three fit in
    /// a small model's prompt.
    fn default() -> Self {
        ChunkWords {
            size: 120,
            overlap: 30,
        }
    }
}

/// Words, for chunk budgets.
pub fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

// ANCHOR: ingest
/// Chunks, embeds and stores one document. Returns `false` when it was
/// already there (nothing is embedded then: re-ingesting is cheap).
pub fn ingest(
    store: &mut dyn VectorStore,
    embedder: &dyn Embedder,
    source: &str,
    text: &str,
    cut: ChunkWords,
) -> Result<bool, StoreError> {
    let hash = content_hash(text);
    if store.has_document(&hash)? {
        return Ok(false);
    }
    let chunks: Vec<NewChunk> = chunk_text(text, cut.size, cut.overlap, words)
        .into_iter()
        .map(|c| NewChunk {
            embedding: embedder.embed(&c.text),
            text: c.text,
        })
        .collect();
    store.add_document(source, &hash, &chunks)
}
// ANCHOR_END: ingest

/// Which ranking to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Bm25,
    Dense,
    Hybrid,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Bm25, Method::Dense, Method::Hybrid];

    pub fn name(self) -> &'static str {
        match self {
            Method::Bm25 => "bm25",
            Method::Dense => "dense",
            Method::Hybrid => "hybrid",
        }
    }
}

/// Chunks with their embeddings in memory, ranked every way. The store
/// answers dense queries by itself; this is for ranking *all* chunks, which
/// BM25 and fusion need.
pub struct Ranker {
    pub chunks: Vec<StoredChunk>,
    embeddings: Vec<Vec<f32>>,
    bm25: Bm25,
}

impl Ranker {
    /// `chunks` and their `embeddings`, in the same order.
    pub fn new(chunks: Vec<StoredChunk>, embeddings: Vec<Vec<f32>>) -> Self {
        let terms: Vec<Vec<String>> = chunks.iter().map(|c| tokenize(&c.text)).collect();
        Ranker {
            bm25: Bm25::new(&terms, Bm25Params::default()),
            chunks,
            embeddings,
        }
    }

    /// Chunks and embeds `documents` (source, text) in memory; `progress`
    /// is called after each chunk is embedded (for a progress bar).
    pub fn build(
        documents: &[(String, String)],
        embedder: &dyn Embedder,
        cut: ChunkWords,
        mut progress: impl FnMut(usize, usize),
    ) -> Self {
        let mut chunks = Vec::new();
        for (source, text) in documents {
            let hash = content_hash(text);
            for (seq, c) in chunk_text(text, cut.size, cut.overlap, words)
                .into_iter()
                .enumerate()
            {
                chunks.push(StoredChunk {
                    id: crate::store::chunk_id(&hash, seq),
                    document: hash.clone(),
                    source: source.clone(),
                    seq,
                    text: c.text,
                });
            }
        }
        let embeddings = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let e = embedder.embed(&c.text);
                progress(i + 1, chunks.len());
                e
            })
            .collect();
        Ranker::new(chunks, embeddings)
    }

    /// Chunk indices, best first: BM25 (only chunks sharing a word with the question).
    pub fn bm25(&self, question: &str) -> Vec<usize> {
        let hits = self.bm25.search(&tokenize(question), self.chunks.len());
        hits.into_iter().map(|(i, _)| i).collect()
    }

    /// Chunk indices, best first: cosine to the question's embedding.
    pub fn dense(&self, query: &[f32]) -> Vec<usize> {
        let mut scored: Vec<(usize, f32)> = self
            .embeddings
            .iter()
            .enumerate()
            .map(|(i, e)| (i, crate::store::cosine(query, e)))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.into_iter().map(|(i, _)| i).collect()
    }

    // ANCHOR: hybrid
    /// Chunk indices, best first, by `method`.
    pub fn rank(&self, method: Method, question: &str, embedder: &dyn Embedder) -> Vec<usize> {
        match method {
            Method::Bm25 => self.bm25(question),
            Method::Dense => self.dense(&embedder.embed(question)),
            Method::Hybrid => {
                let lexical = self.bm25(question);
                let dense = self.dense(&embedder.embed(question));
                reciprocal_rank_fusion(&[&lexical, &dense], RRF_K)
                    .into_iter()
                    .map(|(i, _)| i)
                    .collect()
            }
        }
    }
    // ANCHOR_END: hybrid
}
