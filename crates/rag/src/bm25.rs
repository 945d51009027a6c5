//! BM25: rank documents by the words they share with a query.
//!
//! The idea fits in one sentence: a document matches a query when it
//! contains the query's words, more so for words that are rare in the
//! collection (`idf`), with diminishing returns for repeating a word (`k1`)
//! and a penalty for being long (`b`). For a query `q` and a document `d`:
//!
//! ```text
//! score(q, d) = Σ_{t ∈ q}  idf(t) · tf(t,d) / (tf(t,d) + k1 · (1 − b + b · |d| / avgdl))
//! idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
//! ```
//!
//! `tf` is how often `t` occurs in `d`, `df` in how many of the `N`
//! documents it occurs, `|d|` the document's length in words and `avgdl` the
//! average length. This is Lucene's form (what Elasticsearch and OpenSearch
//! rank with); the tests check it against the `bm25s` Python package's
//! `lucene` method. It knows nothing about meaning — "car" does not match
//! "automobile" — which is what embeddings (chapter 24) add.

use std::collections::HashMap;

/// The two knobs; Lucene's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Params {
    /// Saturation: how much a second, third... occurrence still adds.
    pub k1: f32,
    /// Length normalisation: 0 ignores length, 1 divides by it fully.
    pub b: f32,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Bm25Params { k1: 1.5, b: 0.75 }
    }
}

/// An index over a fixed list of documents.
#[derive(Debug, Clone)]
pub struct Bm25 {
    params: Bm25Params,
    /// Per document: term → count.
    tf: Vec<HashMap<String, u32>>,
    /// Per document: its length in terms.
    len: Vec<u32>,
    /// Term → number of documents containing it.
    df: HashMap<String, u32>,
    avgdl: f32,
}

/// Words for BM25: lowercase runs of letters and digits.
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl Bm25 {
    /// Indexes `docs` (each already split into terms, e.g. by [`tokenize`]).
    pub fn new(docs: &[Vec<String>], params: Bm25Params) -> Self {
        let mut df: HashMap<String, u32> = HashMap::new();
        let mut tf = Vec::with_capacity(docs.len());
        for doc in docs {
            let mut counts: HashMap<String, u32> = HashMap::new();
            for term in doc {
                *counts.entry(term.clone()).or_default() += 1;
            }
            for term in counts.keys() {
                *df.entry(term.clone()).or_default() += 1;
            }
            tf.push(counts);
        }
        let len: Vec<u32> = docs.iter().map(|d| d.len() as u32).collect();
        let total: u64 = len.iter().map(|&l| u64::from(l)).sum();
        let avgdl = total as f32 / docs.len().max(1) as f32;
        Bm25 {
            params,
            tf,
            len,
            df,
            avgdl,
        }
    }

    pub fn len(&self) -> usize {
        self.tf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tf.is_empty()
    }

    // ANCHOR: bm25_score
    /// How rare `term` is in the collection.
    pub fn idf(&self, term: &str) -> f32 {
        let n = self.tf.len() as f32;
        let df = self.df.get(term).copied().unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// The score of document `doc` for the query terms.
    pub fn score(&self, query: &[String], doc: usize) -> f32 {
        let Bm25Params { k1, b } = self.params;
        let norm = k1 * (1.0 - b + b * self.len[doc] as f32 / self.avgdl.max(f32::MIN_POSITIVE));
        query
            .iter()
            .map(|term| {
                let tf = self.tf[doc].get(term).copied().unwrap_or(0) as f32;
                self.idf(term) * tf / (tf + norm)
            })
            .sum()
    }
    // ANCHOR_END: bm25_score

    /// The `k` best documents for `query`, best first, as (index, score);
    /// documents that share no term with the query are left out.
    pub fn search(&self, query: &[String], k: usize) -> Vec<(usize, f32)> {
        let mut hits: Vec<(usize, f32)> = (0..self.tf.len())
            .map(|d| (d, self.score(query, d)))
            .filter(|&(_, s)| s > 0.0)
            .collect();
        // best first; ties in document order, so results are reproducible
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits.truncate(k);
        hits
    }
}
