//! Chapter 1 exercise: one step of gradient descent, by hand.
//!
//! The model is a line, `y = w·x + b`; its loss on `n` points is the mean
//! squared error `L = (1/n) Σ (w·x_i + b − y_i)²`. The gradient says how `L`
//! changes when `w` or `b` moves a little:
//!
//! - `∂L/∂w = (2/n) Σ (w·x_i + b − y_i) · x_i`
//! - `∂L/∂b = (2/n) Σ (w·x_i + b − y_i)`
//!
//! One step of gradient descent moves both against their gradient:
//! `w ← w − lr · ∂L/∂w`, `b ← b − lr · ∂L/∂b`.
//!
//! Check your work with `./check.sh ch01-gradient-step` (from `exercises/`).
//! The tests run your step again and again from `w = b = 0` and compare
//! every loss and every `(w, b)` with `locallm_train::toys::fit_line`, which
//! lets burn's autodiff find the gradient.

/// One gradient-descent step from `(w, b)` on the points `(xs[i], ys[i])`.
/// Returns `(new w, new b, the loss L at the old (w, b))`.
pub fn gradient_step(w: f32, b: f32, xs: &[f32], ys: &[f32], lr: f32) -> (f32, f32, f32) {
    // TODO: for each point, the error e_i = w·x_i + b − y_i.
    // TODO: the loss is the mean of e_i²; the two gradients are the
    //       formulas above (sums of 2·e_i·x_i and of 2·e_i, divided by n).
    // TODO: step both against their gradient, scaled by lr.
    let _ = (w, b, xs, ys, lr);
    todo!("(new w, new b, loss)")
}
