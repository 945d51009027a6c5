//! Chapter 1 exercise: one step of gradient descent, by hand.
//!
//! The model is a line, `y = w·x + b`; its loss on `n` points is the mean
//! squared error `L = (1/n) Σ (w·x_i + b − y_i)²`. The gradient, the pair
//! `(∂L/∂w, ∂L/∂b)`, says how `L` changes when `w` or `b` moves a little;
//! chapter 1 says that for a line you can work it out with pen and paper:
//! do that first (the chain rule on one squared term is enough). One step
//! of gradient descent moves `w` and `b` against their gradient, by `lr`
//! times it.
//!
//! Check your work with `./check.sh ch01-gradient-step` (from `exercises/`).
//! The tests run your step again and again from `w = b = 0` and compare
//! every loss and every `(w, b)` with `locallm_train::toys::fit_line`, which
//! lets burn's autodiff find the gradient.

/// One gradient-descent step from `(w, b)` on the points `(xs[i], ys[i])`.
/// Returns `(new w, new b, the loss L at the old (w, b))`.
pub fn gradient_step(w: f32, b: f32, xs: &[f32], ys: &[f32], lr: f32) -> (f32, f32, f32) {
    // TODO: the loss L at (w, b).
    // TODO: the gradient you derived, at (w, b).
    // TODO: one step of gradient descent.
    let _ = (w, b, xs, ys, lr);
    todo!("(new w, new b, loss)")
}
