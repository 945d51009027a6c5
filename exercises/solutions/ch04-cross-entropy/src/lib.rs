//! Solution of the chapter 4 exercise.

pub fn cross_entropy(logits: &[f32], target: usize) -> f32 {
    let m = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let lse = m + logits.iter().map(|l| (l - m).exp()).sum::<f32>().ln();
    lse - logits[target]
}

pub fn perplexity(losses: &[f32]) -> f32 {
    (losses.iter().sum::<f32>() / losses.len() as f32).exp()
}
