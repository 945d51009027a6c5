//! Chapters 1–3 in miniature: what "learning" means before any language model.
//!
//! - [`fit_line`]: two numbers, `w` and `b`, moved against their gradient
//!   until `w·x + b` fits the points; autodiff supplies the gradient.
//! - [`grad_of`]: the gradient autodiff computes for any function, to compare
//!   with the one worked out by hand.
//! - [`Mlp`]: a small two-layer network, trained with the same AdamW as the
//!   language models ([`train_classifier`]), saved and loaded as safetensors
//!   ([`save_mlp`], [`load_mlp`]): a model is a file of numbers plus the code
//!   that knows how to use them.
//! - [`label_noise_experiment`]: the same model and algorithm on clean and on
//!   partly wrong labels; the data decides what is learned.
//! - [`train_flops`], [`generate_flops_per_token`]: what training costs
//!   compared with using the model.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_model::LlamaConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::checkpoint::{read_safetensors, safetensors_bytes, write_atomic};
use crate::{AdamW, AdamWConfig, TrainError, accumulate_step, nll_sum};

fn tensor1(values: &[f32], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
}

// ANCHOR: fit_line
/// Fits `y ≈ w·x + b` by plain gradient descent on the mean squared error,
/// from `w = b = 0`. Returns `(w, b, loss before each step)`.
pub fn fit_line(
    xs: &[f32],
    ys: &[f32],
    lr: f32,
    steps: usize,
    device: &Device,
) -> (f32, f32, Vec<f32>) {
    let ad = device.clone().autodiff(); // tensors here record what is done to them
    let (x, y) = (tensor1(xs, &ad), tensor1(ys, &ad)); // [n]
    let (mut w, mut b) = (0.0f32, 0.0f32);
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let wt = tensor1(&[w], &ad).require_grad(); // [1]: broadcast over the n points
        let bt = tensor1(&[b], &ad).require_grad();
        let prediction = x.clone() * wt.clone() + bt.clone(); // [n]
        let loss = (prediction - y.clone()).square().mean(); // [1]
        let grads = loss.backward(); // d loss / d every tensor that requires a gradient
        let dw = wt.grad(&grads).expect("w is a leaf").into_scalar::<f32>();
        let db = bt.grad(&grads).expect("b is a leaf").into_scalar::<f32>();
        losses.push(loss.into_scalar::<f32>());
        w -= lr * dw; // a small step downhill
        b -= lr * db;
    }
    (w, b, losses)
}
// ANCHOR_END: fit_line

/// The gradient of `f` (a function of a vector to a `[1]` tensor) at `x`,
/// as autodiff computes it.
pub fn grad_of(x: &[f32], f: impl Fn(Tensor<1>) -> Tensor<1>, device: &Device) -> Vec<f32> {
    let x = tensor1(x, &device.clone().autodiff()).require_grad();
    let grads = f(x.clone()).backward();
    values(x.grad(&grads).expect("x is a leaf"))
}

// ANCHOR: mlp
/// Two layers: `d_in → d_hidden` (ReLU) `→ d_out` scores, one per class.
#[derive(Module, Debug)]
pub struct Mlp {
    pub hidden: Linear, // weight [d_in, d_hidden], bias [d_hidden]
    pub out: Linear,    // weight [d_hidden, d_out], bias [d_out]
}

impl Mlp {
    /// `x`: `[n, d_in]` → logits `[n, d_out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out.forward(relu(self.hidden.forward(x)))
    }
}
// ANCHOR_END: mlp

fn linear(w: Vec<f32>, b: Vec<f32>, d_in: usize, d_out: usize, device: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [d_in, d_out]), device)),
        bias: Some(Param::from_tensor(tensor1(&b, device))),
    }
}

impl Mlp {
    /// Seeded random weights (uniform, scaled by `1/√d_in`), zero biases.
    pub fn new(d_in: usize, d_hidden: usize, d_out: usize, seed: u64, device: &Device) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut draw = |d_in: usize, d_out: usize| -> Vec<f32> {
            let a = 1.0 / (d_in as f32).sqrt();
            (0..d_in * d_out).map(|_| rng.random_range(-a..a)).collect()
        };
        let (w1, w2) = (draw(d_in, d_hidden), draw(d_hidden, d_out));
        Mlp {
            hidden: linear(w1, vec![0.0; d_hidden], d_in, d_hidden, device),
            out: linear(w2, vec![0.0; d_out], d_hidden, d_out, device),
        }
    }
}

/// A labelled 2-D point set: `x` is `[n, 2]` row-major, `y` the classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    pub x: Vec<f32>,
    pub y: Vec<u32>,
}

impl Points {
    /// `n` points uniform in the square [-1, 1]²; class 1 inside the circle
    /// of radius 0.7, class 0 outside: a boundary no straight line can draw.
    pub fn circle(n: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut points = Points {
            x: Vec::new(),
            y: Vec::new(),
        };
        for _ in 0..n {
            let (a, b) = (
                rng.random_range(-1.0f32..1.0),
                rng.random_range(-1.0f32..1.0),
            );
            points.x.extend([a, b]);
            points.y.push(u32::from(a * a + b * b < 0.49));
        }
        points
    }

    /// A copy with a `fraction` of the labels flipped (seeded).
    pub fn with_label_noise(&self, fraction: f32, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let y = (self.y.iter())
            .map(|&c| {
                if rng.random::<f32>() < fraction {
                    1 - c
                } else {
                    c
                }
            })
            .collect();
        Points {
            x: self.x.clone(),
            y,
        }
    }

    fn tensors(&self, device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
        let n = self.y.len();
        let x = Tensor::from_data(TensorData::new(self.x.clone(), [n, 2]), device);
        let y: Vec<i64> = self.y.iter().map(|&c| c as i64).collect();
        (x, Tensor::from_data(TensorData::new(y, [n]), device))
    }
}

// ANCHOR: train_classifier
/// Trains a fresh `Mlp` (2 → `hidden` → 2) on all of `data` at once for
/// `steps` AdamW steps; returns it (on the plain device) and the loss curve.
pub fn train_classifier(
    data: &Points,
    hidden: usize,
    steps: usize,
    lr: f32,
    seed: u64,
    device: &Device,
) -> (Mlp, Vec<f32>) {
    let ad = device.clone().autodiff();
    let mut model = Mlp::new(2, hidden, 2, seed, &ad);
    let (x, y) = data.tensors(&ad);
    let mut optimizer = AdamW::new(AdamWConfig::default());
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        // the same step as the language models take: loss, backward, AdamW
        let batch = [((), data.y.len())];
        let loss = |m: &Mlp, _: &()| nll_sum(m.forward(x.clone()), y.clone());
        let (next, report) =
            accumulate_step(model, &mut optimizer, &batch, loss, lr, f32::INFINITY);
        model = next;
        losses.push(report.loss);
    }
    (model.valid(), losses)
}
// ANCHOR_END: train_classifier

/// The fraction of `data` whose class gets the highest score.
pub fn accuracy(model: &Mlp, data: &Points, device: &Device) -> f32 {
    let (x, y) = data.tensors(device);
    let predicted = model.forward(x).argmax(1).reshape([data.y.len()]);
    let right = predicted.equal(y).int().sum().into_scalar::<i64>();
    right as f32 / data.y.len() as f32
}

/// Accuracy on clean held-out points of the same model trained on labels
/// with a `noise` fraction flipped, for each `noise`.
pub fn label_noise_experiment(noises: &[f32], seed: u64, device: &Device) -> Vec<(f32, f32)> {
    let train = Points::circle(400, seed);
    let test = Points::circle(2000, seed + 1);
    noises
        .iter()
        .map(|&noise| {
            let noisy = train.with_label_noise(noise, seed + 2);
            let (model, _) = train_classifier(&noisy, 64, 1500, 1e-2, seed, device);
            (noise, accuracy(&model, &test, device))
        })
        .collect()
}

// ANCHOR: save_mlp
/// The model as a safetensors file: a JSON header naming each tensor with
/// its dtype and shape, then the raw little-endian numbers.
pub fn save_mlp(model: &Mlp, path: &Path) -> Result<(), TrainError> {
    let mut tensors = BTreeMap::new();
    for (name, layer) in [("hidden", &model.hidden), ("out", &model.out)] {
        let w = layer.weight.val();
        tensors.insert(format!("{name}.weight"), (w.dims().to_vec(), values(w)));
        if let Some(b) = &layer.bias {
            tensors.insert(
                format!("{name}.bias"),
                (b.val().dims().to_vec(), values(b.val())),
            );
        }
    }
    write_atomic(path, &safetensors_bytes(&tensors, None)).map_err(|source| TrainError::Io {
        path: path.display().to_string(),
        source,
    })
}
// ANCHOR_END: save_mlp

/// Reads a model written by [`save_mlp`]; names and shapes are checked.
pub fn load_mlp(path: &Path, device: &Device) -> Result<Mlp, TrainError> {
    let (mut tensors, _) = read_safetensors(path)?;
    let mut layer = |name: &str| -> Result<Linear, TrainError> {
        let bad = |reason: String| TrainError::BadCheckpoint {
            path: path.display().to_string(),
            reason,
        };
        let w = tensors.remove(&format!("{name}.weight"));
        let b = tensors.remove(&format!("{name}.bias"));
        match (w, b) {
            (Some((ws, w)), Some((bs, b))) if ws.len() == 2 && bs == [ws[1]] => {
                Ok(linear(w, b, ws[0], ws[1], device))
            }
            _ => Err(bad(format!(
                "no 2-D `{name}.weight` with a matching `{name}.bias`"
            ))),
        }
    };
    let (hidden, out) = (layer("hidden")?, layer("out")?);
    if hidden.weight.dims()[1] != out.weight.dims()[0] {
        return Err(TrainError::BadCheckpoint {
            path: path.display().to_string(),
            reason: "hidden width differs between the two layers".into(),
        });
    }
    Ok(Mlp { hidden, out })
}

// ANCHOR: flops
/// Training FLOPs: about 6 per parameter per token (2 for the forward
/// matmuls, 4 for the backward pass, which computes gradients for both the
/// weights and the activations).
pub fn train_flops(n_params: usize, tokens: usize) -> f64 {
    6.0 * n_params as f64 * tokens as f64
}

/// Generating one token: the forward pass only, a multiply and an add per weight.
pub fn generate_flops_per_token(n_params: usize) -> f64 {
    2.0 * n_params as f64
}
// ANCHOR_END: flops

/// The shape of SmolLM2-135M, the book's default model (from its GGUF
/// metadata), for cost arithmetic without loading it.
pub fn smollm2_135m() -> LlamaConfig {
    LlamaConfig {
        vocab_size: 49152,
        d_model: 576,
        n_layers: 30,
        n_heads: 9,
        n_kv_heads: 3,
        head_dim: 64,
        ffn_dim: 1536,
        rope_base: 100_000.0,
        rms_eps: 1e-5,
        context_length: 8192,
    }
}

/// Writes chapter 1–3's figures and the trained MLP to `dir`: `line_loss.svg`,
/// `mlp_loss.svg`, `label_noise.svg`, `mlp.safetensors`; returns the numbers.
pub fn write_figures(dir: &Path, device: &Device) -> Result<serde_json::Value, TrainError> {
    use locallm_plot::{Chart, Series, line_chart};
    let plot_err = |e: locallm_plot::PlotError| TrainError::Config(e.to_string());
    let curve = |name: &str, losses: &[f32]| Series {
        name: name.into(),
        points: (losses.iter().enumerate())
            .map(|(i, &l)| (i as f64, l as f64))
            .collect(),
    };
    // y = 2x + 1 with a little seeded noise
    let mut rng = StdRng::seed_from_u64(0);
    let xs: Vec<f32> = (0..50).map(|i| i as f32 / 25.0 - 1.0).collect();
    let ys: Vec<f32> = (xs.iter())
        .map(|x| 2.0 * x + 1.0 + rng.random_range(-0.1..0.1))
        .collect();
    let (w, b, line_losses) = fit_line(&xs, &ys, 0.1, 100, device);
    let chart = Chart::new("Fitting a line", "step", "mean squared error").log_y();
    line_chart(
        dir.join("line_loss.svg"),
        &chart,
        &[curve("w·x + b", &line_losses)],
    )
    .map_err(plot_err)?;

    let train = Points::circle(400, 0);
    let test = Points::circle(2000, 1);
    let (mlp, mlp_losses) = train_classifier(&train, 64, 1500, 1e-2, 0, device);
    save_mlp(&mlp, &dir.join("mlp.safetensors"))?;
    let chart = Chart::new("A small MLP learns a circle", "step", "cross-entropy").log_y();
    line_chart(
        dir.join("mlp_loss.svg"),
        &chart,
        &[curve("training loss", &mlp_losses)],
    )
    .map_err(plot_err)?;

    let noise = label_noise_experiment(&[0.0, 0.1, 0.2, 0.3, 0.4, 0.5], 0, device);
    let chart = Chart::new(
        "Same model, noisier labels",
        "fraction of labels flipped",
        "accuracy on clean test points",
    );
    let series = Series {
        name: "accuracy".into(),
        points: noise.iter().map(|&(n, a)| (n as f64, a as f64)).collect(),
    };
    line_chart(dir.join("label_noise.svg"), &chart, &[series]).map_err(plot_err)?;

    let default = smollm2_135m().n_params();
    Ok(serde_json::json!({
        "line": {"w": w, "b": b, "first_loss": line_losses[0], "last_loss": line_losses[line_losses.len() - 1]},
        "mlp": {"train_accuracy": accuracy(&mlp, &train, device), "test_accuracy": accuracy(&mlp, &test, device),
                "first_loss": mlp_losses[0], "last_loss": mlp_losses[mlp_losses.len() - 1]},
        "label_noise": noise.iter().map(|&(n, a)| serde_json::json!({"noise": n, "test_accuracy": a})).collect::<Vec<_>>(),
        "flops": {
            "smollm2_params": default,
            "smollm2_train_2T_tokens": train_flops(default, 2_000_000_000_000),
            "smollm2_per_generated_token": generate_flops_per_token(default),
            "mlp_params": 2 * 64 + 64 + 64 * 2 + 2,
            "mlp_train": train_flops(2 * 64 + 64 + 64 * 2 + 2, 400 * 1500),
        },
    }))
}
