//! AdamW, gradient clipping, and the learning-rate schedule.

use std::collections::BTreeMap;

use burn::tensor::Tensor;

use crate::params::GradMap;

/// AdamW's hyper-parameters (the learning rate comes from the schedule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// AdamW (Loshchilov & Hutter): Adam's per-parameter step size, with weight
/// decay applied to the weights directly instead of through the gradient.
#[derive(Debug, Clone)]
pub struct AdamW {
    pub config: AdamWConfig,
    /// Steps taken so far (`t` in the paper; bias correction needs it).
    pub t: u64,
    /// First moment (running mean of gradients), by parameter path.
    pub m: BTreeMap<String, Tensor<1>>,
    /// Second moment (running mean of squared gradients), by parameter path.
    pub v: BTreeMap<String, Tensor<1>>,
}

impl AdamW {
    pub fn new(config: AdamWConfig) -> Self {
        AdamW {
            config,
            t: 0,
            m: BTreeMap::new(),
            v: BTreeMap::new(),
        }
    }

    // ANCHOR: adamw
    /// The new value of the parameter at `path`, given its gradient.
    pub fn update(&mut self, path: &str, param: Tensor<1>, grad: Tensor<1>, lr: f32) -> Tensor<1> {
        let AdamWConfig {
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.config;
        let zeros = || grad.zeros_like();
        let m = self.m.remove(path).unwrap_or_else(zeros);
        let v = self.v.remove(path).unwrap_or_else(zeros);
        let m = m.mul_scalar(beta1) + grad.clone().mul_scalar(1.0 - beta1);
        let v = v.mul_scalar(beta2) + grad.square().mul_scalar(1.0 - beta2);
        // the moments start at zero; dividing by 1 - β^t removes that bias
        let t = self.t as i32;
        let m_hat = m.clone().div_scalar(1.0 - beta1.powi(t));
        let v_hat = v.clone().div_scalar(1.0 - beta2.powi(t));
        let step = m_hat / v_hat.sqrt().add_scalar(eps);
        let decayed = param.clone().mul_scalar(1.0 - lr * weight_decay);
        self.m.insert(path.to_string(), m);
        self.v.insert(path.to_string(), v);
        decayed - step.mul_scalar(lr)
    }
    // ANCHOR_END: adamw

    /// One step for every trainable parameter of `module` that has a gradient.
    pub fn step<M: burn::module::Module>(&mut self, module: M, grads: &GradMap, lr: f32) -> M {
        self.t += 1;
        crate::params::map_trainable(module, |path, value| match grads.get(path) {
            Some(g) => self.update(path, value, g.clone(), lr),
            None => value,
        })
    }
}

// ANCHOR: clip
/// Scales all gradients together so that their global L2 norm is at most
/// `max_norm`; returns the norm before clipping. One exploding batch then
/// moves the weights no further than a normal one.
pub fn clip_global_norm(grads: &mut GradMap, max_norm: f32) -> f32 {
    let sq: f32 = grads
        .values()
        .map(|g| g.clone().square().sum().into_scalar::<f32>())
        .sum();
    let norm = sq.sqrt();
    if norm > max_norm && norm > 0.0 {
        let scale = max_norm / norm;
        for g in grads.values_mut() {
            *g = g.clone().mul_scalar(scale);
        }
    }
    norm
}
// ANCHOR_END: clip

/// Linear warm-up to `peak`, then a cosine down to `peak * min_ratio` at `total`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrSchedule {
    pub peak: f32,
    pub warmup: usize,
    pub total: usize,
    pub min_ratio: f32,
}

impl LrSchedule {
    // ANCHOR: schedule
    /// The learning rate of step `step` (0-based).
    pub fn lr(&self, step: usize) -> f32 {
        if step < self.warmup {
            // a few small steps first, while AdamW's moment estimates settle
            return self.peak * (step + 1) as f32 / self.warmup as f32;
        }
        let span = self.total.saturating_sub(self.warmup).max(1);
        let progress = ((step - self.warmup) as f32 / span as f32).min(1.0);
        let cosine = 0.5 * (1.0 + (std::f32::consts::PI * progress).cos());
        self.peak * (self.min_ratio + (1.0 - self.min_ratio) * cosine)
    }
    // ANCHOR_END: schedule
}
