//! The knowledge-distillation loss.
//!
//! With temperature `T`, the teacher's and the student's distributions are
//! `softmax(t/T)` and `softmax(s/T)`. `T > 1` flattens them: the teacher's
//! second and third choices, which say what it considers *similar*, get
//! enough probability to matter. The soft loss is
//! `KL(p_teacher || p_student) · T²`; the `T²` keeps its gradient the same
//! size whatever `T` is (the gradient of the softened KL shrinks as `1/T²`).
//! It is mixed with the ordinary cross-entropy on the true next token:
//! `alpha · soft + (1 - alpha) · hard`.
//!
//! Reverse KL, `KL(p_student || p_teacher)` (MiniLLM, Gu et al. 2023), is
//! *mode-seeking*: the student is punished for putting mass where the
//! teacher puts none, but not for ignoring some of the teacher's options; a
//! small student that cannot cover everything then picks the main modes
//! instead of smearing itself over all of them.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Int, Tensor};
use locallm_train::nll_sum;

/// The knobs of the KD loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KdConfig {
    /// Softening temperature `T` (> 0).
    pub temperature: f32,
    /// Weight of the soft (teacher) term; `1 - alpha` goes to the hard labels.
    /// 0 is plain training on the text.
    pub alpha: f32,
    /// `KL(student || teacher)` instead of `KL(teacher || student)`.
    pub reverse_kl: bool,
}

impl Default for KdConfig {
    fn default() -> Self {
        KdConfig {
            temperature: 2.0,
            alpha: 0.5,
            reverse_kl: false,
        }
    }
}

// ANCHOR: kd_loss
/// `student`, `teacher`: logits `[n, vocab]`; `targets`: the true next
/// tokens `[n]` → the KD loss *summed* over the `n` positions, `[1]`.
pub fn kd_loss_sum(
    student: Tensor<2>,
    teacher: Tensor<2>,
    targets: Tensor<1, Int>,
    cfg: &KdConfig,
) -> Tensor<1> {
    let t = cfg.temperature;
    let log_p_s = log_softmax(student.clone().div_scalar(t), 1); // [n, vocab]
    let log_p_t = log_softmax(teacher.div_scalar(t), 1);
    let kl = if cfg.reverse_kl {
        // Σ p_s · (log p_s − log p_t)
        (softmax(student.clone().div_scalar(t), 1) * (log_p_s - log_p_t)).sum()
    } else {
        // Σ p_t · (log p_t − log p_s)
        (log_p_t.clone().exp() * (log_p_t - log_p_s)).sum()
    };
    let soft = kl.mul_scalar(t * t);
    if cfg.alpha >= 1.0 {
        return soft;
    }
    let hard = nll_sum(student, targets);
    soft.mul_scalar(cfg.alpha) + hard.mul_scalar(1.0 - cfg.alpha)
}
// ANCHOR_END: kd_loss
