//! AdamW, the learning-rate schedule, global-norm clipping and the masked
//! cross-entropy against JAX and optax.
//! Golden: tests/golden/train_math/optax.json from
//! scripts/golden_train_math.py (JAX and optax versions recorded there; the
//! references are computed in float64 from float32 inputs).
//!
//! Tolerance: 1e-5 relative to the largest magnitude of each compared tensor.
//! Ours runs in f32 (a rounding is ~6e-8 relative); twenty AdamW steps and a
//! softmax over a few logits stay far inside 1e-5, while a wrong formula (no
//! bias correction, decay through the gradient, clipping per tensor) is off
//! by 1e-2 or more.

use std::collections::BTreeMap;

use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_tests::{assert_close_rel, golden_f64s, golden_json};
use locallm_train::{AdamW, AdamWConfig, GradMap, LrSchedule, clip_global_norm, nll_sum};
use serde_json::Value;

const REL: f64 = 1e-5;

fn golden() -> Value {
    golden_json("train_math/optax.json")
}

fn assert_close(what: &str, got: &[f32], want: &[f64]) {
    assert_close_rel(what, got, want, REL);
}

fn device() -> Device {
    Device::flex()
}

/// The golden's inputs are f32 values written exactly as f64.
fn f32s(v: &Value) -> Vec<f32> {
    golden_f64s(v).into_iter().map(|x| x as f32).collect()
}

fn tensor1(v: &[f32]) -> Tensor<1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &device())
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// optax's `warmup_cosine_decay_schedule` starts its warm-up at 0 (count 0
/// gets a zero learning rate, a wasted step); ours starts at `peak/warmup`,
/// so during warm-up our step `s` is optax's count `s + 1`. From the end of
/// warm-up on, both give the cosine of the same count.
#[test]
fn schedule_matches_optax_warmup_cosine() {
    let g = golden();
    let s = &g["schedule"];
    let sched = LrSchedule {
        peak: s["peak"].as_f64().unwrap() as f32,
        warmup: s["warmup"].as_u64().unwrap() as usize,
        total: s["total"].as_u64().unwrap() as usize,
        min_ratio: s["min_ratio"].as_f64().unwrap() as f32,
    };
    let optax = golden_f64s(&s["optax_lr_by_count"]);
    for step in 0..optax.len() - 1 {
        let count = if step < sched.warmup { step + 1 } else { step };
        assert_close(
            &format!("lr at step {step}"),
            &[sched.lr(step)],
            &[optax[count]],
        );
    }
}

/// `optax.chain(clip_by_global_norm, adamw)` for 20 steps on two tensors,
/// with optax's learning rate of each step.
#[test]
fn clipped_adamw_matches_optax_over_20_steps() {
    let g = golden();
    let a = &g["adamw"];
    let cfg = AdamWConfig {
        beta1: a["b1"].as_f64().unwrap() as f32,
        beta2: a["b2"].as_f64().unwrap() as f32,
        eps: a["eps"].as_f64().unwrap() as f32,
        weight_decay: a["weight_decay"].as_f64().unwrap() as f32,
    };
    let max_norm = a["max_norm"].as_f64().unwrap() as f32;
    let mut opt = AdamW::new(cfg);
    let mut params: BTreeMap<&str, Tensor<1>> = ["w", "b"]
        .into_iter()
        .map(|k| (k, tensor1(&f32s(&a["init"][k]))))
        .collect();
    let steps = a["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 20);
    let mut clipped_steps = 0;
    for (k, (step, grads)) in steps.iter().zip(a["grads"].as_array().unwrap()).enumerate() {
        let mut grad_map: GradMap = ["w", "b"]
            .into_iter()
            .map(|p| (p.to_string(), tensor1(&f32s(&grads[p]))))
            .collect();
        let want_norm = step["global_norm"].as_f64().unwrap();
        let norm = clip_global_norm(&mut grad_map, max_norm);
        assert_close(&format!("global norm at step {k}"), &[norm], &[want_norm]);
        clipped_steps += usize::from(want_norm > max_norm as f64);
        opt.t += 1; // what AdamW::step does before updating each parameter
        let lr = step["lr"].as_f64().unwrap() as f32;
        for (path, value) in params.iter_mut() {
            let grad = grad_map[*path].clone();
            *value = opt.update(path, value.clone(), grad, lr);
            assert_close(
                &format!("{path} after step {k}"),
                &to_vec(value.clone()),
                &golden_f64s(&step[*path]),
            );
        }
    }
    // the golden exercises both branches of the clipping
    assert!(clipped_steps > 0 && clipped_steps < steps.len());
}

/// Our masked loss keeps the counted positions (`select`) and sums
/// `-log softmax` there (`nll_sum`); optax multiplies its per-position
/// cross-entropy by the mask. Value and gradient by every logit.
#[test]
fn masked_cross_entropy_and_its_gradient_match_optax() {
    let g = golden();
    let c = &g["masked_ce"];
    let [n, vocab] = [0, 1].map(|i| c["shape"][i].as_u64().unwrap() as usize);
    let ad = device().autodiff();
    let logits =
        Tensor::<2>::from_data(TensorData::new(f32s(&c["logits"]), [n, vocab]), &ad).require_grad();
    let mask: Vec<bool> = c["mask"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_i64() == Some(1))
        .collect();
    let targets: Vec<i64> = c["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap())
        .collect();
    let (positions, picked_targets): (Vec<i64>, Vec<i64>) = (0..n)
        .filter(|&p| mask[p])
        .map(|p| (p as i64, targets[p]))
        .unzip();
    let m = positions.len();
    let positions = Tensor::<1, Int>::from_data(TensorData::new(positions, [m]), &ad);
    let picked_targets = Tensor::<1, Int>::from_data(TensorData::new(picked_targets, [m]), &ad);
    let loss = nll_sum(logits.clone().select(0, positions), picked_targets);
    assert_close(
        "masked CE sum",
        &to_vec(loss.clone()),
        &[c["loss_sum"].as_f64().unwrap()],
    );
    let grads = loss.backward();
    let grad = logits.grad(&grads).unwrap();
    assert_close(
        "d loss / d logits",
        &to_vec(grad),
        &golden_f64s(&c["grad_logits"]),
    );
}
