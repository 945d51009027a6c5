//! The KD loss (KL·T², reverse KL, mixed with the hard cross-entropy) and its
//! gradient by the student's logits, against JAX and optax.
//! Golden: tests/golden/train_math/optax.json from
//! scripts/golden_train_math.py (`optax.losses.kl_divergence`,
//! `kl_divergence_with_log_targets`, `softmax_cross_entropy_with_integer_labels`,
//! `jax.grad`, in float64 from float32 inputs).
//!
//! Tolerance: 1e-5 relative to the largest magnitude of each compared
//! tensor: ours is f32 (~6e-8 per rounding) over sums of a few dozen terms;
//! a T instead of T², or the two KL directions swapped, is off by far more.

use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_distill::{KdConfig, kd_loss_sum};
use locallm_tests::{assert_close_rel, golden_f64s, golden_json};
use serde_json::Value;

const REL: f64 = 1e-5;

fn golden() -> Value {
    golden_json("train_math/optax.json")
}

fn assert_close(what: &str, got: &[f32], want: &[f64]) {
    assert_close_rel(what, got, want, REL);
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

#[test]
fn kd_loss_and_gradient_match_optax() {
    let g = golden();
    let cases = g["kd"].as_array().unwrap();
    assert!(cases.iter().any(|c| c["reverse_kl"].as_bool().unwrap()));
    let ad = Device::flex().autodiff();
    for c in cases {
        let cfg = KdConfig {
            temperature: c["temperature"].as_f64().unwrap() as f32,
            alpha: c["alpha"].as_f64().unwrap() as f32,
            reverse_kl: c["reverse_kl"].as_bool().unwrap(),
        };
        let [n, vocab] = [0, 1].map(|i| c["shape"][i].as_u64().unwrap() as usize);
        // the golden's logits are f32 values written exactly as f64
        let logits = |key: &str| {
            let v: Vec<f32> = golden_f64s(&c[key]).into_iter().map(|x| x as f32).collect();
            Tensor::<2>::from_data(TensorData::new(v, [n, vocab]), &ad)
        };
        let student = logits("student").require_grad();
        let targets: Vec<i64> = c["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_i64().unwrap())
            .collect();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(targets, [n]), &ad);
        let loss = kd_loss_sum(student.clone(), logits("teacher"), targets, &cfg);
        let what = format!("{cfg:?}");
        assert_close(
            &format!("KD loss, {what}"),
            &to_vec(loss.clone()),
            &[c["loss_sum"].as_f64().unwrap()],
        );
        let grad = student.grad(&loss.backward()).unwrap();
        assert_close(
            &format!("d KD / d student, {what}"),
            &to_vec(grad),
            &golden_f64s(&c["grad_student"]),
        );
    }
}
