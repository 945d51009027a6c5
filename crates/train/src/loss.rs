//! The language-modelling loss.
//!
//! At each position the model outputs logits over the vocabulary; the loss is
//! the negative log-probability it gave to the token that actually came next.
//! Fine-tuning on chats counts only the positions whose next token belongs to
//! an answer: the prompt is given, not learned. Which positions count is the
//! caller's choice: it passes the logits of exactly those positions.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

// ANCHOR: nll_sum
/// `logits`: `[n, vocab]` at the counted positions, `targets`: `[n]` the next
/// token at each → the *sum* of `-log p(target)`, shape `[1]`. Summing (not
/// averaging) lets gradient accumulation divide once by the step's token count.
pub fn nll_sum(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let log_probs = log_softmax(logits, 1); // [n, vocab]
    let picked = log_probs.gather(1, targets.unsqueeze_dim(1)); // [n, 1]
    picked.sum().neg()
}
// ANCHOR_END: nll_sum
