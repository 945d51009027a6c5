//! Solution of the chapter 6 exercise: BM25's idf and score from term counts.

#[derive(Debug, Clone, Copy)]
pub struct TermStats {
    pub df: u32,
    pub tf: u32,
}

pub fn idf(n_docs: u32, df: u32) -> f32 {
    let (n, df) = (n_docs as f32, df as f32);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

pub fn score(terms: &[TermStats], n_docs: u32, len: u32, avgdl: f32, k1: f32, b: f32) -> f32 {
    let norm = k1 * (1.0 - b + b * len as f32 / avgdl);
    terms
        .iter()
        .map(|t| idf(n_docs, t.df) * t.tf as f32 / (t.tf as f32 + norm))
        .sum()
}
