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
//! 4. [`prompt`] — the retrieved chunks, numbered, in a prompt that asks for
//!    an answer with citations.

pub mod bm25;
pub mod chunk;
pub mod embed;
pub mod prompt;

pub use bm25::{Bm25, Bm25Params, tokenize};
pub use chunk::{Chunk, chunk_text};
pub use embed::{EmbedError, Embedder};
pub use prompt::rag_prompt;
