//! # locallm-rag: giving a model memory
//!
//! A model knows what was in its training data and what is in its prompt,
//! nothing else. Retrieval-augmented generation (RAG) puts the right part of
//! *your* documents into the prompt: cut them into chunks, find the chunks
//! that match the question, and ask the model to answer from those. The
//! model does not learn anything; it reads. Reading order:
//!
//! 1. [`chunk`] — documents into overlapping pieces that fit a prompt,
//!    cut at paragraph boundaries;
//! 2. [`bm25`] — lexical retrieval: the classic ranking function of search
//!    engines, from scratch (chapter 6);
//! 3. [`embed`] — retrieval by meaning: all-MiniLM-L6-v2 sentence
//!    embeddings on burn tensors (chapter 24);
//! 4. [`store`] — chunks and embeddings kept in one SQLite file, a document
//!    per transaction, exact cosine search; [`chroma`] — the same on a
//!    Chroma server;
//! 5. [`hybrid`] — BM25 and embeddings fused by reciprocal rank;
//! 6. [`pipeline`] — ingest documents, rank chunks three ways;
//!    [`eval`] — recall@k on questions with known answers;
//! 7. [`prompt`] — the retrieved chunks, numbered, in a prompt that asks for
//!    an answer with citations.

pub mod bm25;
pub mod chroma;
pub mod chunk;
pub mod embed;
pub mod eval;
pub mod hybrid;
pub mod pipeline;
pub mod prompt;
pub mod store;

pub use bm25::{Bm25, Bm25Params, tokenize};
pub use chroma::ChromaStore;
pub use chunk::{Chunk, chunk_text};
pub use embed::{EmbedError, Embedder, MiniLm};
pub use hybrid::{RRF_K, reciprocal_rank_fusion};
pub use pipeline::{ChunkWords, Method, Ranker, ingest};
pub use prompt::rag_prompt;
pub use store::{Hit, NewChunk, SqliteStore, StoreError, StoredChunk, VectorStore, content_hash};
