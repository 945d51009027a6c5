//! The same store on a Chroma server, over its HTTP API (v2).
//!
//! Chroma is the vector database the post series uses: a server
//! (`pip install chromadb`, `chroma run`) that keeps collections of
//! (id, embedding, document, metadata) records and answers nearest-neighbour
//! queries with an HNSW index. This backend speaks its JSON API directly,
//! which shows how little is behind the client libraries:
//!
//! - `POST …/collections` with `get_or_create` and cosine space → its id;
//! - `POST …/collections/{id}/upsert` with ids, embeddings, documents and
//!   metadatas (the document's content hash, source, position, chunk count);
//! - `POST …/collections/{id}/query` with the query embedding → ids,
//!   documents, metadatas and cosine *distances* (1 − similarity);
//! - `POST …/collections/{id}/get` with a `where` filter on metadata.
//!
//! A document's chunks go in one request, and ids are content-derived, so
//! sending a document again (after a crash, say) overwrites rather than
//! duplicates.

use serde_json::{Value, json};

use crate::store::{Hit, NewChunk, StoreError, StoredChunk, VectorStore, chunk_id, top_k};

/// A Chroma collection used as a [`VectorStore`].
pub struct ChromaStore {
    agent: ureq::Agent,
    /// `http://host:port/api/v2/tenants/default_tenant/databases/default_database`
    base: String,
    collection: String,
}

impl ChromaStore {
    /// Connects to the server at `url` (e.g. `http://127.0.0.1:8000`) and
    /// opens the collection `name`, creating it (cosine space) if needed.
    pub fn open(url: &str, name: &str) -> Result<Self, StoreError> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false) // we want Chroma's error message
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build();
        let mut store = ChromaStore {
            agent: ureq::Agent::new_with_config(config),
            base: format!(
                "{}/api/v2/tenants/default_tenant/databases/default_database",
                url.trim_end_matches('/')
            ),
            collection: String::new(),
        };
        let body = json!({"name": name, "get_or_create": true,
                          "configuration": {"hnsw": {"space": "cosine"}}});
        let collection = store.post("/collections", &body)?;
        store.collection = collection["id"]
            .as_str()
            .ok_or_else(|| store.error(format!("no collection id in {collection}")))?
            .to_string();
        Ok(store)
    }

    fn error(&self, reason: String) -> StoreError {
        StoreError::Chroma {
            url: self.base.clone(),
            reason,
        }
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value, StoreError> {
        let url = format!("{}{path}", self.base);
        let mut response = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(|e| self.error(e.to_string()))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.error(e.to_string()))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| self.error(format!("HTTP {status}, not JSON ({e}): {text}")))?;
        if status != 200 {
            let message = value["message"].as_str().unwrap_or(&text);
            return Err(dimension_error(message)
                .unwrap_or_else(|| self.error(format!("HTTP {status}: {message}"))));
        }
        Ok(value)
    }

    fn records(&self, op: &str, body: Value) -> Result<Value, StoreError> {
        self.post(&format!("/collections/{}/{op}", self.collection), &body)
    }
}

/// Chroma's "expecting embedding with dimension of 3, got 2" as our error.
fn dimension_error(message: &str) -> Option<StoreError> {
    let rest = message.split("dimension of ").nth(1)?;
    let (expected, got) = rest.split_once(", got ")?;
    let number = |s: &str| s.trim().trim_end_matches('.').parse::<usize>().ok();
    Some(StoreError::DimensionMismatch {
        expected: number(expected)?,
        got: number(got)?,
    })
}

/// A record's metadata and document text as a [`StoredChunk`].
fn stored(id: &Value, text: &Value, meta: &Value) -> Option<StoredChunk> {
    Some(StoredChunk {
        id: id.as_str()?.to_string(),
        document: meta["document"].as_str()?.to_string(),
        source: meta["source"].as_str()?.to_string(),
        seq: meta["seq"].as_u64()? as usize,
        text: text.as_str()?.to_string(),
    })
}

impl VectorStore for ChromaStore {
    fn has_document(&self, hash: &str) -> Result<bool, StoreError> {
        let found = self.records(
            "get",
            json!({"where": {"document": hash}, "include": ["metadatas"]}),
        )?;
        let metas = found["metadatas"].as_array().cloned().unwrap_or_default();
        // complete only if every chunk made it
        Ok(metas
            .first()
            .and_then(|m| m["chunks"].as_u64())
            .is_some_and(|n| n as usize == metas.len()))
    }

    fn add_document(
        &mut self,
        source: &str,
        hash: &str,
        chunks: &[NewChunk],
    ) -> Result<bool, StoreError> {
        if chunks.is_empty() || self.has_document(hash)? {
            return Ok(false);
        }
        let dim = chunks[0].embedding.len();
        if let Some(c) = chunks.iter().find(|c| c.embedding.len() != dim) {
            let got = c.embedding.len();
            return Err(StoreError::DimensionMismatch { expected: dim, got });
        }
        let n = chunks.len();
        let ids: Vec<String> = (0..n).map(|seq| chunk_id(hash, seq)).collect();
        let embeddings: Vec<&[f32]> = chunks.iter().map(|c| c.embedding.as_slice()).collect();
        let documents: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
        let metadatas: Vec<Value> = (0..n)
            .map(|seq| json!({"document": hash, "source": source, "seq": seq, "chunks": n}))
            .collect();
        // upsert: a document half-sent before a crash is completed, not doubled
        self.records(
            "upsert",
            json!({"ids": ids, "embeddings": embeddings, "documents": documents,
                   "metadatas": metadatas}),
        )?;
        Ok(true)
    }

    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>, StoreError> {
        if k == 0 || self.count()? == 0 {
            return Ok(Vec::new());
        }
        let found = self.records(
            "query",
            json!({"query_embeddings": [query], "n_results": k,
                   "include": ["documents", "metadatas", "distances"]}),
        )?;
        let bad = || self.error(format!("unexpected query answer: {found}"));
        let (ids, docs, metas, dists) = (
            &found["ids"][0],
            &found["documents"][0],
            &found["metadatas"][0],
            &found["distances"][0],
        );
        let n = ids.as_array().ok_or_else(bad)?.len();
        let scored = (0..n)
            .map(|i| {
                let chunk = stored(&ids[i], &docs[i], &metas[i]).ok_or_else(bad)?;
                // cosine distance is 1 − cosine similarity
                let score = 1.0 - dists[i].as_f64().ok_or_else(bad)? as f32;
                Ok((chunk, score))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(top_k(scored, k))
    }

    fn chunks(&self) -> Result<Vec<StoredChunk>, StoreError> {
        let found = self.records("get", json!({"include": ["documents", "metadatas"]}))?;
        let bad = || self.error(format!("unexpected get answer: {found}"));
        let ids = found["ids"].as_array().ok_or_else(bad)?;
        let mut chunks = (0..ids.len())
            .map(|i| {
                stored(&ids[i], &found["documents"][i], &found["metadatas"][i]).ok_or_else(bad)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Chroma keeps no arrival order: by source, document, position
        chunks
            .sort_by(|a, b| (&a.source, &a.document, a.seq).cmp(&(&b.source, &b.document, b.seq)));
        Ok(chunks)
    }

    fn count(&self) -> Result<usize, StoreError> {
        let url = format!("{}/collections/{}/count", self.base, self.collection);
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| self.error(e.to_string()))?;
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.error(e.to_string()))?;
        text.trim()
            .parse()
            .map_err(|_| self.error(format!("count answered {text}")))
    }
}
