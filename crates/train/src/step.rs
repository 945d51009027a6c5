//! One optimizer step over several micro-batches.
//!
//! A step's batch may not fit in memory at once, so it is cut into
//! micro-batches; each runs forward and backward on its own, and their
//! gradients are *added* before the single optimizer step. Each micro-batch
//! loss is divided by the token count of the whole step, so the sum of
//! their gradients is the gradient of the mean loss over all those tokens —
//! the same number one big batch would give.

use std::collections::BTreeMap;

use burn::module::Module;
use burn::tensor::Tensor;

use crate::optim::{AdamW, clip_global_norm};
use crate::params::{GradMap, gradients};

/// What one step measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Mean loss per counted token over the step's micro-batches.
    pub loss: f32,
    /// The global gradient norm before clipping.
    pub grad_norm: f32,
    /// Counted (target) tokens in the step.
    pub tokens: usize,
}

// ANCHOR: accumulate_step
/// Runs `loss_sum` (which returns the summed loss of one micro-batch) on each
/// micro-batch, accumulates gradients, clips them, and takes one AdamW step.
pub fn accumulate_step<M: Module, B>(
    model: M,
    optimizer: &mut AdamW,
    micro_batches: &[(B, usize)], // (batch, counted tokens)
    loss_sum: impl Fn(&M, &B) -> Tensor<1>,
    lr: f32,
    max_grad_norm: f32,
) -> (M, StepReport) {
    let tokens: usize = micro_batches.iter().map(|(_, n)| n).sum();
    let mut total_loss = 0.0f32;
    let mut grads: GradMap = BTreeMap::new();
    for (batch, _) in micro_batches {
        let loss = loss_sum(&model, batch).div_scalar(tokens.max(1) as f32);
        total_loss += loss.clone().into_scalar::<f32>();
        for (path, g) in gradients(&model, &loss.backward()) {
            let sum = match grads.remove(&path) {
                Some(acc) => acc + g,
                None => g,
            };
            grads.insert(path, sum);
        }
    }
    let grad_norm = clip_global_norm(&mut grads, max_grad_norm);
    let model = optimizer.step(model, &grads, lr);
    let report = StepReport {
        loss: total_loss,
        grad_norm,
        tokens,
    };
    (model, report)
}
// ANCHOR_END: accumulate_step
