//! Training data for a next-token model: one long stream of token ids.
//!
//! The text is tokenized once; its last `held_out` fraction is set aside and
//! never trained on, so the perplexity measured there says how well the
//! model predicts text it has not seen. A training batch is `batch` windows
//! of `ctx + 1` consecutive tokens starting at random places: the model reads
//! `ctx` tokens and at each position predicts the next one.
//!
//! Where the windows start is a pure function of `(seed, step)`: a run
//! resumed at step 300 draws exactly the windows the uninterrupted run drew
//! at step 300, which is what makes "resume = uninterrupted" hold.

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::TrainError;

/// The token stream, cut into a training part and a held-out tail.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSplit {
    pub train: Vec<u32>,
    pub held_out: Vec<u32>,
}

impl TokenSplit {
    /// Holds out the last `fraction` of `tokens`; both parts must fit a
    /// window of `ctx + 1` tokens.
    pub fn new(tokens: &[u32], fraction: f32, ctx: usize) -> Result<Self, TrainError> {
        let cut = tokens.len() - (tokens.len() as f64 * fraction as f64).round() as usize;
        let (train, held_out) = tokens.split_at(cut);
        if train.len() <= ctx || (fraction > 0.0 && held_out.len() <= ctx) {
            return Err(TrainError::Config(format!(
                "{} tokens ({} train, {} held out) are too few for windows of {} tokens",
                tokens.len(),
                train.len(),
                held_out.len(),
                ctx + 1
            )));
        }
        Ok(TokenSplit {
            train: train.to_vec(),
            held_out: held_out.to_vec(),
        })
    }
}

// ANCHOR: windows
/// The start of each of the `batch` training windows of step `step`: a
/// seeded draw, the same every time it is asked for.
pub fn window_starts(
    seed: u64,
    step: usize,
    batch: usize,
    n_tokens: usize,
    ctx: usize,
) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    (0..batch)
        .map(|_| rng.random_range(0..n_tokens - ctx))
        .collect()
}

/// `batch` windows of `ctx + 1` tokens as one `[batch, ctx + 1]` tensor.
pub fn batch_tensor(
    tokens: &[u32],
    starts: &[usize],
    ctx: usize,
    device: &Device,
) -> Tensor<2, Int> {
    let ids: Vec<i64> = starts
        .iter()
        .flat_map(|&s| tokens[s..s + ctx + 1].iter().map(|&t| t as i64))
        .collect();
    Tensor::from_data(TensorData::new(ids, [starts.len(), ctx + 1]), device)
}
// ANCHOR_END: windows

/// The held-out stream cut into consecutive windows (stride `ctx`, so every
/// held-out token is predicted once), at most `max` of them (0: all).
pub fn eval_starts(n_tokens: usize, ctx: usize, max: usize) -> Vec<usize> {
    let all = (0..n_tokens.saturating_sub(ctx)).step_by(ctx);
    match max {
        0 => all.collect(),
        m => all.take(m).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_holds_out_the_tail() {
        let tokens: Vec<u32> = (0..100).collect();
        let s = TokenSplit::new(&tokens, 0.1, 8).unwrap();
        assert_eq!(s.train.len(), 90);
        assert_eq!(s.held_out, (90..100).collect::<Vec<_>>());
        assert!(TokenSplit::new(&tokens, 0.05, 8).is_err()); // 5 held-out tokens < a window
    }

    #[test]
    fn windows_are_a_function_of_seed_and_step() {
        let a = window_starts(7, 3, 4, 1000, 16);
        assert_eq!(a, window_starts(7, 3, 4, 1000, 16));
        assert_ne!(a, window_starts(7, 4, 4, 1000, 16));
        assert_ne!(a, window_starts(8, 3, 4, 1000, 16));
        assert!(a.iter().all(|&s| s + 16 < 1000));
    }

    #[test]
    fn eval_windows_tile_the_stream() {
        assert_eq!(eval_starts(35, 10, 0), vec![0, 10, 20]);
        assert_eq!(eval_starts(35, 10, 2), vec![0, 10]);
    }
}
