//! The fine-tuning run.
//!
//! Each optimizer step sees `batch` examples, one at a time (micro-batches of
//! one sequence: no padding, and a long example costs only its own memory);
//! their gradients are accumulated and the step is taken once. The example
//! order is a seeded shuffle per epoch, a pure function of (seed, step), so a
//! run resumed from a checkpoint sees exactly the batches the uninterrupted
//! run would have seen.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_model::{Llama, NoCache};
use locallm_train::{
    AdamW, AdamWConfig, Cadence, LrSchedule, RunState, StepDone, accumulate_step, nll_sum,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::json;

use crate::config::{LoraConfig, Target};
use crate::data::Example;
use crate::{LoraError, attach, qlora};

/// Everything that defines a run.
#[derive(Debug, Clone, PartialEq)]
pub struct FinetuneConfig {
    pub lora: LoraConfig,
    /// Hold the frozen base in NF4 (QLoRA).
    pub qlora: bool,
    /// Optimizer steps.
    pub steps: usize,
    /// Examples per step (gradient accumulation over single sequences).
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f32,
    /// Warm-up steps (linear), then cosine decay to `lr * min_lr_ratio`.
    pub warmup: usize,
    pub min_lr_ratio: f32,
    pub weight_decay: f32,
    /// Global gradient-norm clip.
    pub max_grad_norm: f32,
    pub seed: u64,
    /// Write a checkpoint every this many steps (and always at the end); 0: only at the end.
    pub checkpoint_every: usize,
    /// Evaluate on the held-out examples every this many steps (and at the end); 0: only at the end.
    pub eval_every: usize,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        FinetuneConfig {
            lora: LoraConfig::default(),
            qlora: false,
            steps: 100,
            batch: 8,
            lr: 1e-3,
            warmup: 10,
            min_lr_ratio: 0.1,
            weight_decay: 0.0,
            max_grad_norm: 1.0,
            seed: 0,
            checkpoint_every: 25,
            eval_every: 25,
        }
    }
}

// The checkpoint location and the per-step report are the same as for
// training from scratch.
pub use locallm_train::{Checkpoints, StepInfo};

/// The outcome of a run.
#[derive(Debug)]
pub struct Finetuned {
    pub model: Llama,
    /// Training loss of every step (including those before a resume).
    pub losses: Vec<f32>,
    /// `(step, held-out loss)`.
    pub eval_losses: Vec<(usize, f32)>,
    /// The step the run resumed from, if it did.
    pub resumed_from: Option<usize>,
}

/// Which example is micro-batch `j` of step `step`: a seeded shuffle per epoch.
pub fn example_index(step: usize, j: usize, batch: usize, n: usize, seed: u64) -> usize {
    let k = step * batch + j;
    let epoch = (k / n) as u64;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut StdRng::seed_from_u64(
        seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    ));
    order[k % n]
}

// ANCHOR: example_loss
/// Summed loss of one example: logits only at the positions whose *next*
/// token the assistant wrote — the output layer (576 × 49152 for SmolLM2) is
/// the most expensive matmul per position, and the prompt needs none of it.
pub fn example_loss(model: &Llama, ex: &Example, device: &Device) -> Tensor<1> {
    let n = ex.tokens.len();
    let ids: Vec<i64> = ex.tokens[..n - 1].iter().map(|&t| t as i64).collect();
    let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, n - 1]), device);
    let hidden = model.forward_hidden(input, 0, &mut NoCache); // [1, n-1, d]
    let d = hidden.dims()[2];
    // position p predicts token p+1
    let (positions, targets): (Vec<i64>, Vec<i64>) = (0..n - 1)
        .filter(|&p| ex.learn[p + 1])
        .map(|p| (p as i64, ex.tokens[p + 1] as i64))
        .unzip();
    let m = positions.len();
    let positions = Tensor::<1, Int>::from_data(TensorData::new(positions, [m]), device);
    let picked = hidden.reshape([n - 1, d]).select(0, positions); // [m, d]
    let logits = model.logits(picked.unsqueeze()); // [1, m, vocab]
    let vocab = logits.dims()[2];
    let targets = Tensor::<1, Int>::from_data(TensorData::new(targets, [m]), device);
    nll_sum(logits.reshape([m, vocab]), targets)
}
// ANCHOR_END: example_loss

/// Mean loss per answer token over `examples`, without autodiff.
pub fn eval_loss(model: &Llama, examples: &[Example], device: &Device) -> f32 {
    let model = model.valid();
    let (mut sum, mut tokens) = (0.0f64, 0usize);
    for ex in examples.iter().filter(|e| usable(e)) {
        sum += example_loss(&model, ex, device).into_scalar::<f32>() as f64;
        tokens += ex.n_learned();
    }
    (sum / tokens.max(1) as f64) as f32
}

fn usable(ex: &Example) -> bool {
    ex.tokens.len() >= 2 && ex.learn[1..].iter().any(|&l| l)
}

fn run_state(cfg: &FinetuneConfig) -> serde_json::Value {
    let targets: Vec<&str> = cfg.lora.targets.iter().map(|t| t.short()).collect();
    json!({
        "rank": cfg.lora.rank, "alpha": cfg.lora.alpha, "rslora": cfg.lora.rslora,
        "targets": targets, "qlora": cfg.qlora, "seed": cfg.seed, "batch": cfg.batch,
    })
}

/// Fine-tunes `base` (loaded on the plain `device`) on `train`.
///
/// With `checkpoints`, the state is written there every `checkpoint_every`
/// steps and at the end; with `resume`, a run starts from the
/// checkpoint found there (which must come from the same configuration).
/// `on_step` sees every step; returning `false` stops the run there.
pub fn finetune(
    base: Llama,
    train: &[Example],
    eval: &[Example],
    cfg: &FinetuneConfig,
    device: &Device,
    checkpoints: Option<Checkpoints>,
    mut on_step: impl FnMut(&StepInfo) -> bool,
) -> Result<Finetuned, LoraError> {
    let train: Vec<&Example> = train.iter().filter(|e| usable(e)).collect();
    if train.is_empty() || cfg.batch == 0 {
        return Err(LoraError::Config(
            "no training examples with answer tokens".into(),
        ));
    }
    let base = if cfg.qlora {
        qlora::quantize_base(base)
    } else {
        base
    };
    let train_device = device.clone().autodiff();
    let mut state = RunState {
        model: attach::attach(base, &cfg.lora, &train_device, cfg.seed)?,
        optimizer: AdamW::new(AdamWConfig {
            weight_decay: cfg.weight_decay,
            ..AdamWConfig::default()
        }),
        step: 0,
        losses: vec![],
        eval_losses: vec![],
    };
    let mut resumed_from = None;
    let run = run_state(cfg);
    if let Some(c) = checkpoints.filter(|c| c.resume && c.path.exists()) {
        state = state.resume(c.path, &run, device, &train_device)?;
        resumed_from = Some(state.step);
    }

    let schedule = LrSchedule {
        peak: cfg.lr,
        warmup: cfg.warmup,
        total: cfg.steps,
        min_ratio: cfg.min_lr_ratio,
    };
    let cadence = Cadence {
        steps: cfg.steps,
        eval_every: cfg.eval_every,
        checkpoint_every: cfg.checkpoint_every,
        checkpoints,
        run: &run,
    };
    while state.step < cfg.steps {
        let (step, t0) = (state.step, Instant::now());
        let micro: Vec<(&Example, usize)> = (0..cfg.batch)
            .map(|j| train[example_index(step, j, cfg.batch, train.len(), cfg.seed)])
            .map(|ex| (ex, ex.n_learned()))
            .collect();
        let lr = schedule.lr(step);
        let (next, report) = accumulate_step(
            state.model,
            &mut state.optimizer,
            &micro,
            |m, ex| example_loss(m, ex, &train_device),
            lr,
            cfg.max_grad_norm,
        );
        state.model = next;
        let step = StepDone {
            loss: report.loss,
            grad_norm: report.grad_norm,
            lr,
            tokens: micro.iter().map(|(e, _)| e.tokens.len()).sum(),
            elapsed: t0.elapsed(), // the step itself, without evaluation or checkpoint
        };
        let eval = (!eval.is_empty()).then_some(|m: &Llama| eval_loss(m, eval, device));
        let go_on = cadence.end_step(&mut state, step, eval, &mut on_step)?;
        if !go_on {
            break; // as if the process had been killed here
        }
    }
    Ok(Finetuned {
        model: state.model,
        losses: state.losses,
        eval_losses: state.eval_losses,
        resumed_from,
    })
}

/// `(layer, target)` of every adapter in `model`, for merging and export.
pub fn adapted(model: &Llama) -> Vec<(usize, Target)> {
    attach::adapters(model)
        .into_iter()
        .map(|(l, t, _)| (l, t))
        .collect()
}
