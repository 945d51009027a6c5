//! A text's embedding from a decoder-only model: one vector per text.
//!
//! A generative model has no embedding head, but its final hidden states
//! (after the last norm, before the output projection) describe each
//! position. Averaging them over the text and scaling the mean to length 1
//! gives one vector whose dot product with another text's is their cosine
//! similarity — what llama.cpp's server returns with mean pooling. A model
//! trained for embeddings (chapter 24's MiniLM) does this job much better;
//! this is what any chat model can offer through `/v1/embeddings`.

use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_model::{Llama, NoCache};

// ANCHOR: mean_pool
/// The mean of the final hidden states of `tokens`, L2-normalised: `[d_model]`.
pub fn embed(model: &Llama, tokens: &[u32], device: &Device) -> Vec<f32> {
    let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
    let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, tokens.len()]), device);
    let hidden = model.forward_hidden(input, 0, &mut NoCache); // [1, seq, d_model]
    let mean = hidden.mean_dim(1); // [1, 1, d_model]
    let mut v: Vec<f32> = mean.into_data().try_to_vec().expect("f32 hidden states");
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}
// ANCHOR_END: mean_pool
