//! Solution of the chapter 24 exercise: reciprocal rank fusion.

use std::collections::HashMap;

/// Fuses `rankings` (item ids, best first) into one ranking, best first.
pub fn reciprocal_rank_fusion(rankings: &[Vec<usize>], k: f64) -> Vec<(usize, f64)> {
    let mut scores: HashMap<usize, f64> = HashMap::new();
    for ranking in rankings {
        for (i, &item) in ranking.iter().enumerate() {
            *scores.entry(item).or_default() += 1.0 / (k + (i + 1) as f64);
        }
    }
    let mut fused: Vec<(usize, f64)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused
}
