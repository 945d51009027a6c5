//! Chapter 17.2 exercise: the knowledge-distillation loss with its T².
//!
//! For one position, with student logits `s`, teacher logits `t`, the true
//! next token `y`, temperature `T` and mixing weight `alpha`:
//!
//! - soften both: `p = softmax(t / T)` (teacher), `q = softmax(s / T)` (student);
//! - the soft loss is `KL(p || q) = Σ p_i · (ln p_i − ln q_i)`, times `T²`;
//! - the hard loss is the ordinary cross-entropy `−ln softmax(s)[y]` (at T = 1);
//! - the KD loss is `alpha · T² · KL + (1 − alpha) · hard`.
//!
//! Why `T²`: dividing the logits by `T` makes the KL's gradient `1/T²` as
//! large; multiplying by `T²` gives it back its size, so changing `T` does
//! not silently change how much the teacher's term weighs against the hard one.
//!
//! Check your work with `./check.sh ch17-kd-loss` (from `exercises/`).

/// The KD loss of one position.
pub fn kd_loss(
    student: &[f32],
    teacher: &[f32],
    target: usize,
    temperature: f32,
    alpha: f32,
) -> f32 {
    // TODO: the soft term and the hard term of the doc above, mixed by alpha.
    let _ = (student, teacher, target, temperature, alpha);
    todo!("the KD loss")
}
