//! The teacher in the training loop.
//!
//! The teacher runs on the plain device (no autodiff: its weights are not
//! trained and its activations need no gradient) on the same windows as the
//! student, once per step; its logits enter the student's loss as constants.
//! At SmolLM2-135M's size the teacher's forward pass costs about as much as
//! the small student's forward *and* backward, so distillation runs at about
//! half the speed of plain training per token.

use burn::tensor::{Device, Tensor};
use locallm_model::{Llama, NoCache};
use locallm_train::data::eval_starts;
use locallm_train::{Windows, batch_tensor, nll_sum};

use crate::loss::{KdConfig, kd_loss_sum};

/// `[b, ctx]` inputs and `[b·ctx]` targets of some windows on `device`.
fn inputs(
    w: &Windows,
    device: &Device,
) -> (Tensor<2, burn::tensor::Int>, Tensor<1, burn::tensor::Int>) {
    let batch = batch_tensor(w.tokens, w.starts, w.ctx, device); // [b, ctx + 1]
    let b = w.starts.len();
    (
        batch.clone().narrow(1, 0, w.ctx),
        batch.narrow(1, 1, w.ctx).reshape([b * w.ctx]),
    )
}

fn flat_logits(model: &Llama, input: Tensor<2, burn::tensor::Int>) -> Tensor<2> {
    let logits = model.forward(input, 0, &mut NoCache); // [b, ctx, vocab]
    let [b, s, v] = logits.dims();
    logits.reshape([b * s, v])
}

// ANCHOR: distill_batch_loss
/// The summed KD loss of a step's windows: `student` on `train_device`
/// (autodiff), `teacher` on the plain `device`. With `alpha = 0` the teacher
/// is not run at all: that is plain next-token training.
pub fn distill_batch_loss(
    student: &Llama,
    teacher: &Llama,
    w: &Windows,
    kd: &KdConfig,
    device: &Device,
    train_device: &Device,
) -> Tensor<1> {
    let (input, targets) = inputs(w, train_device);
    let student_logits = flat_logits(student, input); // [b·ctx, vocab]
    if kd.alpha <= 0.0 {
        return nll_sum(student_logits, targets);
    }
    let (teacher_input, _) = inputs(w, device);
    // computed without autodiff, then made a constant of the student's graph
    let teacher_logits = flat_logits(teacher, teacher_input).autodiff();
    kd_loss_sum(student_logits, teacher_logits, targets, kd)
}
// ANCHOR_END: distill_batch_loss

/// Mean `KL(teacher || student)` per token at temperature 1 (nats), on
/// consecutive windows of held-out `tokens`: how far the student's
/// predictions are from the teacher's. Both models on the plain `device`.
pub fn kl_to_teacher(
    student: &Llama,
    teacher: &Llama,
    tokens: &[u32],
    ctx: usize,
    max_windows: usize,
    device: &Device,
) -> f32 {
    let starts = eval_starts(tokens.len(), ctx, max_windows);
    let pure_kl = KdConfig {
        temperature: 1.0,
        alpha: 1.0,
        reverse_kl: false,
    };
    let mut sum = 0.0f64;
    for chunk in starts.chunks(4) {
        let w = Windows {
            tokens,
            starts: chunk,
            ctx,
        };
        let (input, targets) = inputs(&w, device);
        let s = flat_logits(student, input.clone());
        let t = flat_logits(teacher, input);
        sum += kd_loss_sum(s, t, targets, &pure_kl).into_scalar::<f32>() as f64;
    }
    (sum / (starts.len() * ctx).max(1) as f64) as f32
}
