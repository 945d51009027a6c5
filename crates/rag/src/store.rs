//! Where chunks and their embeddings live between runs: a vector store.
//!
//! A store holds, per chunk, where it came from (`source`), its text and its
//! embedding, and answers one question: which `k` chunks are nearest to this
//! vector (by cosine)? Two backends implement [`VectorStore`]: [`SqliteStore`]
//! (the default: one file, no server) and [`crate::chroma::ChromaStore`] (the
//! Chroma server the post series uses). Both pass one test suite.
//!
//! Two promises matter more than speed:
//! - **a document is all or nothing**: its chunks go in with one transaction,
//!   so a crash (or `kill -9`) mid-ingest leaves every document either
//!   complete or absent, never half there;
//! - **ingesting twice changes nothing**: a document is known by the SHA-256
//!   of its text (its *content hash*); one already there is skipped, which
//!   also makes "run the ingest again" the way to finish an interrupted one.
//!
//! Search is exact: every vector is compared with the query. For a book's
//! thousand chunks that takes a millisecond; an approximate index (HNSW, as
//! Chroma uses) earns its place around a million.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path} is not a SQLite database (is it the right file?)")]
    NotADatabase { path: PathBuf },
    #[error("{path} is a SQLite database but not a locallm vector store")]
    NotAStore { path: PathBuf },
    #[error("the store holds {expected}-dimensional vectors, got one of {got}")]
    DimensionMismatch { expected: usize, got: usize },
    #[error("the store is damaged: {0}")]
    Corrupt(String),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("Chroma at {url}: {reason}")]
    Chroma { url: String, reason: String },
}

/// A chunk to add: its text and its embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChunk {
    pub text: String,
    pub embedding: Vec<f32>,
}

/// A chunk as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChunk {
    /// `<document hash>-<seq>`: derived from the content, so the same chunk
    /// gets the same id in every store.
    pub id: String,
    /// The content hash of the document the chunk belongs to.
    pub document: String,
    /// Where the document came from (a path, a URL).
    pub source: String,
    /// The chunk's position in its document, from 0.
    pub seq: usize,
    pub text: String,
}

/// A search result: a chunk and its cosine similarity to the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub chunk: StoredChunk,
    pub score: f32,
}

// ANCHOR: vector_store
/// A place to keep embedded chunks and find the nearest ones.
pub trait VectorStore {
    /// Whether the document with this content hash is already stored.
    fn has_document(&self, hash: &str) -> Result<bool, StoreError>;
    /// Adds one document's chunks, all or nothing. Returns `false` (and
    /// changes nothing) when the document is already there.
    fn add_document(
        &mut self,
        source: &str,
        hash: &str,
        chunks: &[NewChunk],
    ) -> Result<bool, StoreError>;
    /// The `k` chunks most similar to `query` by cosine, best first.
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>, StoreError>;
    /// Every chunk, grouped by document, each document's in position order
    /// (SQLite keeps documents in arrival order; Chroma sorts by source).
    fn chunks(&self) -> Result<Vec<StoredChunk>, StoreError>;
    /// How many chunks are stored.
    fn count(&self) -> Result<usize, StoreError>;
}
// ANCHOR_END: vector_store

/// The content hash of a document: hex SHA-256 of its text.
pub fn content_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The id of chunk `seq` of document `hash`.
pub fn chunk_id(hash: &str, seq: usize) -> String {
    format!("{hash}-{seq}")
}

/// Cosine similarity; 0 when either vector is all zeros.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    let norm = (na * nb).sqrt();
    if norm == 0.0 { 0.0 } else { dot / norm }
}

/// The `k` best of `(chunk, score)` pairs, best first, ties in arrival order.
pub(crate) fn top_k(mut scored: Vec<(StoredChunk, f32)>, k: usize) -> Vec<Hit> {
    // a stable sort keeps arrival order among equal scores
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(k);
    scored
        .into_iter()
        .map(|(chunk, score)| Hit { chunk, score })
        .collect()
}

/// "LLRG" in the SQLite header's application id: this file is ours.
const APPLICATION_ID: i32 = 0x4c4c_5247;

// ANCHOR: schema
const SCHEMA: &str = "
CREATE TABLE documents (
    hash   TEXT PRIMARY KEY,   -- SHA-256 of the document's text
    source TEXT NOT NULL,
    chunks INTEGER NOT NULL
);
CREATE TABLE chunks (
    id        TEXT PRIMARY KEY, -- <hash>-<seq>
    document  TEXT NOT NULL REFERENCES documents(hash),
    seq       INTEGER NOT NULL,
    text      TEXT NOT NULL,
    embedding BLOB NOT NULL     -- dim little-endian f32
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
";
// ANCHOR_END: schema

/// The default store: one SQLite file.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens the store at `path`, creating it if the file does not exist.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        let store = SqliteStore {
            conn,
            path: path.to_path_buf(),
        };
        // the first read is where SQLite notices a file that is not a database
        let app_id: i32 = store
            .conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| store.classify(e))?;
        let tables: i64 = store
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| store.classify(e))?;
        match (app_id, tables) {
            (APPLICATION_ID, _) => {}
            (0, 0) => {
                let tx = store.conn.unchecked_transaction()?;
                tx.execute_batch(SCHEMA)?;
                tx.pragma_update(None, "application_id", APPLICATION_ID)?;
                tx.commit()?;
            }
            _ => return Err(StoreError::NotAStore { path: store.path }),
        }
        Ok(store)
    }

    fn classify(&self, e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotADatabase {
                path: self.path.clone(),
            },
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Sqlite(e),
        }
    }

    /// The dimension of the stored vectors (`None` while the store is empty).
    pub fn dim(&self) -> Result<Option<usize>, StoreError> {
        let dim: Option<i64> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'dim'", [], |r| r.get(0))
            .optional()?;
        Ok(dim.map(|d| d as usize))
    }

    fn check_dim(&self, got: usize) -> Result<(), StoreError> {
        match self.dim()? {
            Some(expected) if expected != got => {
                Err(StoreError::DimensionMismatch { expected, got })
            }
            _ => Ok(()),
        }
    }

    /// Every chunk with its embedding, by document then position.
    fn rows(&self) -> Result<Vec<(StoredChunk, Vec<f32>)>, StoreError> {
        let dim = self.dim()?.unwrap_or(0);
        let mut stmt = self.conn.prepare(
            "SELECT c.id, c.document, d.source, c.seq, c.text, c.embedding
             FROM chunks c JOIN documents d ON c.document = d.hash
             ORDER BY d.rowid, c.seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                StoredChunk {
                    id: r.get(0)?,
                    document: r.get(1)?,
                    source: r.get(2)?,
                    seq: r.get::<_, i64>(3)? as usize,
                    text: r.get(4)?,
                },
                r.get::<_, Vec<u8>>(5)?,
            ))
        })?;
        rows.map(|row| {
            let (chunk, blob) = row?;
            if blob.len() != dim * 4 {
                return Err(StoreError::Corrupt(format!(
                    "chunk {} has {} bytes of embedding, expected {}",
                    chunk.id,
                    blob.len(),
                    dim * 4
                )));
            }
            Ok((chunk, from_blob(&blob)))
        })
        .collect()
    }
}

// ANCHOR: blob
/// A vector as SQLite stores it: little-endian f32s, 4 bytes each.
fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
// ANCHOR_END: blob

impl VectorStore for SqliteStore {
    fn has_document(&self, hash: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = self
            .conn
            .query_row("SELECT 1 FROM documents WHERE hash = ?1", [hash], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(found.is_some())
    }

    // ANCHOR: add_document
    fn add_document(
        &mut self,
        source: &str,
        hash: &str,
        chunks: &[NewChunk],
    ) -> Result<bool, StoreError> {
        let Some(dim) = chunks.first().map(|c| c.embedding.len()) else {
            return Ok(false); // nothing to store
        };
        if let Some(c) = chunks.iter().find(|c| c.embedding.len() != dim) {
            let got = c.embedding.len();
            return Err(StoreError::DimensionMismatch { expected: dim, got });
        }
        self.check_dim(dim)?;
        // one transaction per document: after a crash it is all there or not
        // at all (SQLite's journal undoes a transaction that did not commit)
        let tx = self.conn.transaction()?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO documents (hash, source, chunks) VALUES (?1, ?2, ?3)",
            params![hash, source, chunks.len() as i64],
        )?;
        if inserted == 0 {
            return Ok(false); // already there: the transaction rolls back on drop
        }
        tx.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('dim', ?1)",
            [dim as i64],
        )?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO chunks (id, document, seq, text, embedding) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (seq, c) in chunks.iter().enumerate() {
                let id = chunk_id(hash, seq);
                insert.execute(params![id, hash, seq as i64, c.text, to_blob(&c.embedding)])?;
            }
        }
        tx.commit()?;
        Ok(true)
    }
    // ANCHOR_END: add_document

    // ANCHOR: sqlite_search
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>, StoreError> {
        self.check_dim(query.len())?;
        // exact search: score every chunk, keep the best k
        let scored = self
            .rows()?
            .into_iter()
            .map(|(chunk, v)| {
                let score = cosine(query, &v);
                (chunk, score)
            })
            .collect();
        Ok(top_k(scored, k))
    }
    // ANCHOR_END: sqlite_search

    fn chunks(&self) -> Result<Vec<StoredChunk>, StoreError> {
        Ok(self.rows()?.into_iter().map(|(c, _)| c).collect())
    }

    fn count(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM chunks", [], |r| r.get(0))?;
        Ok(n as usize)
    }
}
