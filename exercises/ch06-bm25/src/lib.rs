//! Chapter 6 exercise: BM25's idf and score from term counts.
//!
//! For a collection of `n_docs` documents whose average length is `avgdl`
//! terms, a query term found in `df` documents, and a document of `len`
//! terms that contains the term `tf` times (Lucene's BM25):
//!
//! ```text
//! idf(t)  = ln(1 + (n_docs − df + 0.5) / (df + 0.5))
//! term(t) = idf(t) · tf / (tf + k1 · (1 − b + b · len / avgdl))
//! score   = Σ over the query's terms of term(t)
//! ```
//!
//! Check your work with `./check.sh ch06-bm25` (from `exercises/`). The tests
//! compare your numbers with `locallm-rag`'s index.

/// What the collection says about one query term, and the document's count.
#[derive(Debug, Clone, Copy)]
pub struct TermStats {
    /// Documents that contain the term.
    pub df: u32,
    /// Times the term occurs in the scored document.
    pub tf: u32,
}

/// BM25's inverse document frequency.
pub fn idf(n_docs: u32, df: u32) -> f32 {
    // TODO: the idf formula above, in f32.
    let _ = (n_docs, df);
    todo!("how rare is the term?")
}

/// The score of one document (`len` terms) for a query whose terms have
/// these statistics.
pub fn score(terms: &[TermStats], n_docs: u32, len: u32, avgdl: f32, k1: f32, b: f32) -> f32 {
    // TODO: the length normalisation k1 · (1 − b + b · len / avgdl), once;
    //       then the sum over terms of idf · tf / (tf + normalisation).
    let _ = (terms, n_docs, len, avgdl, k1, b);
    todo!("the document's score")
}
