//! Training a Llama next-token model from scratch.
//!
//! The loop is the one every language model is trained with: draw a batch
//! of windows, predict each next token, measure the cross-entropy, step
//! AdamW, and now and then measure the loss on held-out text and write a
//! checkpoint. The loss of a batch is a parameter, so that distillation
//! (`locallm-distill`) runs this same loop with a teacher in the loss.
//!
//! Everything random is seeded: the initial weights by `seed`, the windows
//! by `(seed, step)`. Two runs of one config give the same numbers, and a
//! run resumed from a checkpoint gives the numbers of the run that was not
//! interrupted (the checkpoint holds the weights, AdamW's moments and the
//! step).

use std::path::Path;
use std::time::{Duration, Instant};

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use locallm_model::{Llama, LlamaConfig, NoCache};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::checkpoint::RunState;
use crate::config::TrainConfig;
use crate::data::{TokenSplit, batch_tensor, eval_starts, window_starts};
use crate::{AdamW, AdamWConfig, LrSchedule, TrainError, accumulate_step, map_trainable, nll_sum};

/// Where the run keeps its checkpoint, and whether to start from it.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoints<'a> {
    pub path: &'a Path,
    /// Continue from the checkpoint at `path` if there is one.
    pub resume: bool,
}

/// When a loop evaluates and checkpoints, and where it checkpoints to.
#[derive(Debug, Clone, Copy)]
pub struct Cadence<'a> {
    pub steps: usize,
    /// Every this many steps (0: only at the last step).
    pub eval_every: usize,
    pub checkpoint_every: usize,
    pub checkpoints: Option<Checkpoints<'a>>,
    /// What identifies the run in its checkpoints.
    pub run: &'a serde_json::Value,
}

/// What one optimizer step did, for [`Cadence::end_step`].
#[derive(Debug, Clone, Copy)]
pub struct StepDone {
    pub loss: f32,
    pub grad_norm: f32,
    pub lr: f32,
    pub tokens: usize,
    pub elapsed: Duration,
}

impl Cadence<'_> {
    /// The bookkeeping every training loop does after a step: record the
    /// loss, evaluate (with `eval`, if there is held-out data) and
    /// checkpoint when due, then report; false if `on_step` asks to stop.
    pub fn end_step<M: Module>(
        &self,
        state: &mut RunState<M>,
        step: StepDone,
        eval: Option<impl FnOnce(&M) -> f32>,
        on_step: &mut impl FnMut(&StepInfo) -> bool,
    ) -> Result<bool, TrainError> {
        let every = |n: usize, done: usize| n > 0 && done.is_multiple_of(n);
        state.losses.push(step.loss);
        state.step += 1;
        let (done, last) = (state.step, state.step == self.steps);
        let eval_loss = eval
            .filter(|_| last || every(self.eval_every, done))
            .map(|eval| eval(&state.model));
        if let Some(l) = eval_loss {
            state.eval_losses.push((done, l));
        }
        let checkpointed = match self.checkpoints {
            Some(c) if last || every(self.checkpoint_every, done) => {
                state.save(c.path, self.run)?;
                true
            }
            _ => false,
        };
        Ok(on_step(&StepInfo {
            step: done,
            total: self.steps,
            loss: step.loss,
            lr: step.lr,
            grad_norm: step.grad_norm,
            tokens: step.tokens,
            elapsed: step.elapsed,
            eval_loss,
            checkpointed,
        }))
    }
}

/// The windows of one step: `tokens[s..s + ctx + 1]` for each start `s`.
#[derive(Debug, Clone, Copy)]
pub struct Windows<'a> {
    pub tokens: &'a [u32],
    pub starts: &'a [usize],
    pub ctx: usize,
}

/// Reported after every step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInfo {
    /// 1-based.
    pub step: usize,
    pub total: usize,
    /// Mean training loss per predicted token.
    pub loss: f32,
    pub lr: f32,
    pub grad_norm: f32,
    /// Tokens predicted in this step.
    pub tokens: usize,
    /// Time of the step itself (without evaluation and checkpointing).
    pub elapsed: Duration,
    /// Held-out loss (nats per token), when this step evaluated.
    pub eval_loss: Option<f32>,
    pub checkpointed: bool,
}

/// The outcome of a run.
#[derive(Debug)]
pub struct Trained {
    /// On the autodiff device; `.valid()` gives the plain model.
    pub model: Llama,
    /// Training loss of every step (including those before a resume).
    pub losses: Vec<f32>,
    /// `(step, held-out loss)`.
    pub eval_losses: Vec<(usize, f32)>,
    pub resumed_from: Option<usize>,
}

impl Trained {
    /// The trained model on the plain device, for inference and export.
    pub fn plain_model(&self) -> Llama {
        self.model.valid()
    }
}

/// A model of shape `config` with seeded random weights, trainable on
/// `device` (an autodiff device). Matrices are drawn uniformly with standard
/// deviation 0.02 (GPT-2's choice), the norms' gains start at 1.
pub fn init_model(config: &LlamaConfig, seed: u64, device: &Device) -> Llama {
    let model = Llama::init(config, device);
    let mut rng = StdRng::seed_from_u64(seed);
    let a = 0.02 * 3f32.sqrt(); // uniform on [-a, a] has std a/√3
    map_trainable(model, |path, value| {
        let n = value.dims()[0];
        let values: Vec<f32> = if path.ends_with("norm.weight") {
            vec![1.0; n]
        } else {
            (0..n).map(|_| rng.random_range(-a..a)).collect()
        };
        Tensor::from_data(TensorData::new(values, [n]), device)
    })
}

// ANCHOR: next_token_loss
/// Summed next-token cross-entropy of a batch of windows: the model reads
/// tokens `0..ctx` of each window and is scored on tokens `1..=ctx`.
pub fn next_token_loss(model: &Llama, w: &Windows, device: &Device) -> Tensor<1> {
    let batch = batch_tensor(w.tokens, w.starts, w.ctx, device); // [b, ctx + 1]
    let b = w.starts.len();
    let input = batch.clone().narrow(1, 0, w.ctx); // [b, ctx]
    let targets = batch.narrow(1, 1, w.ctx).reshape([b * w.ctx]); // [b·ctx]
    let logits = model.forward(input, 0, &mut NoCache); // [b, ctx, vocab]
    let vocab = logits.dims()[2];
    nll_sum(logits.reshape([b * w.ctx, vocab]), targets)
}
// ANCHOR_END: next_token_loss

/// Mean next-token loss (nats per token) of a plain (non-autodiff) `model`
/// on consecutive windows of `tokens`; `exp` of it is the perplexity.
pub fn eval_loss(
    model: &Llama,
    tokens: &[u32],
    ctx: usize,
    max_windows: usize,
    device: &Device,
) -> f32 {
    let starts = eval_starts(tokens.len(), ctx, max_windows);
    let mut sum = 0.0f64;
    for chunk in starts.chunks(8) {
        let w = Windows {
            tokens,
            starts: chunk,
            ctx,
        };
        sum += next_token_loss(model, &w, device).into_scalar::<f32>() as f64;
    }
    (sum / (starts.len() * ctx).max(1) as f64) as f32
}

/// Trains `model` (built on `device.autodiff()`, e.g. by [`init_model`]) on
/// `data.train` with `loss` as the summed loss of a step's windows (e.g.
/// [`next_token_loss`]). `run` identifies the run in the checkpoint: a
/// resume from a checkpoint of another run is refused. `on_step` sees every
/// step; returning `false` stops there (as if the process were killed).
#[allow(clippy::too_many_arguments)]
pub fn train_lm(
    model: Llama,
    data: &TokenSplit,
    cfg: &TrainConfig,
    device: &Device,
    run: serde_json::Value,
    checkpoints: Option<Checkpoints>,
    loss: impl Fn(&Llama, &Windows) -> Tensor<1>,
    mut on_step: impl FnMut(&StepInfo) -> bool,
) -> Result<Trained, TrainError> {
    let train_device = device.clone().autodiff();
    let mut state = RunState {
        model,
        optimizer: AdamW::new(AdamWConfig {
            weight_decay: cfg.weight_decay,
            ..AdamWConfig::default()
        }),
        step: 0,
        losses: vec![],
        eval_losses: vec![],
    };
    let mut resumed_from = None;
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
        // ANCHOR: train_step
        let starts = window_starts(cfg.seed, step, cfg.batch, data.train.len(), cfg.ctx);
        let windows = Windows {
            tokens: &data.train,
            starts: &starts,
            ctx: cfg.ctx,
        };
        let lr = schedule.lr(step);
        let (next, report) = accumulate_step(
            state.model,
            &mut state.optimizer,
            &[(windows, cfg.batch * cfg.ctx)], // one micro-batch: the whole step
            &loss,
            lr,
            cfg.max_grad_norm,
        );
        state.model = next;
        // ANCHOR_END: train_step
        let step = StepDone {
            loss: report.loss,
            grad_norm: report.grad_norm,
            lr,
            tokens: report.tokens,
            elapsed: t0.elapsed(), // the step itself, without evaluation or checkpoint
        };
        let eval = (!data.held_out.is_empty()).then_some(|m: &Llama| {
            eval_loss(
                &m.valid(),
                &data.held_out,
                cfg.ctx,
                cfg.eval_windows,
                device,
            )
        });
        let go_on = cadence.end_step(&mut state, step, eval, &mut on_step)?;
        if !go_on {
            break;
        }
    }
    Ok(Trained {
        model: state.model,
        losses: state.losses,
        eval_losses: state.eval_losses,
        resumed_from,
    })
}
