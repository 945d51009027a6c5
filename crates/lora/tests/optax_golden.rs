//! A LoRA projection, `y = x·W + scale · (x·A)·B`, and the gradients of
//! `L = Σ y ⊙ G` by A and by B, against JAX.
//! Golden: tests/golden/train_math/optax.json (`lora`) from
//! scripts/golden_train_math.py (float64 from float32 inputs).
//!
//! Tolerance: 1e-5 relative to the largest magnitude of each tensor: ours is
//! f32 matmuls over 6-long dot products (~1e-7); a missing `scale`, or a
//! gradient through the wrong factor, is off by orders of magnitude more.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use locallm_model::{Base, LoraAdapter, Proj};
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
fn lora_output_and_gradients_match_jax() {
    let g = golden();
    let c = &g["lora"];
    let dim = |k: &str| c["dims"][k].as_u64().unwrap() as usize;
    let (batch, seq, d_in, d_out, r) = (
        dim("batch"),
        dim("seq"),
        dim("d_in"),
        dim("d_out"),
        dim("r"),
    );
    let ad = Device::flex().autodiff();
    // the golden's inputs are f32 values written exactly as f64
    let tensor = |key: &str, shape: [usize; 2]| {
        let v: Vec<f32> = golden_f64s(&c[key]).into_iter().map(|x| x as f32).collect();
        Tensor::<2>::from_data(TensorData::new(v, shape), &ad)
    };
    let tensor3 =
        |key: &str, last: usize| tensor(key, [batch * seq, last]).reshape([batch, seq, last]);
    let proj = Proj {
        // the base weight is frozen: no gradient asked for it
        base: Base::Dense(Linear {
            weight: Param::from_tensor(tensor("w", [d_in, d_out])),
            bias: None,
        }),
        lora: Some(LoraAdapter {
            a: Param::from_tensor(tensor("a", [d_in, r]).require_grad()),
            b: Param::from_tensor(tensor("b", [r, d_out]).require_grad()),
            scale: c["scale"].as_f64().unwrap() as f32,
        }),
    };
    let y = proj.forward(tensor3("x", d_in)); // [batch, seq, d_out]
    assert_close("y", &to_vec(y.clone()), &golden_f64s(&c["y"]));
    let loss = (y * tensor3("cotangent", d_out)).sum();
    let grads = loss.backward();
    let lora = proj.lora.as_ref().unwrap();
    assert_close(
        "dL/dA",
        &to_vec(lora.a.val().grad(&grads).unwrap()),
        &golden_f64s(&c["grad_a"]),
    );
    assert_close(
        "dL/dB",
        &to_vec(lora.b.val().grad(&grads).unwrap()),
        &golden_f64s(&c["grad_b"]),
    );
}
