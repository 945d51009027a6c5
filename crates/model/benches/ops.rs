//! `cargo bench -p locallm-model`: the burn ops of one decode step of the
//! default model's shapes (RMSNorm, RoPE, attention over a 512-token cache),
//! so that a regression shows up as a number.

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use locallm_model::rms_norm::RmsNorm;
use locallm_model::rope::Rope;

fn ops(c: &mut Criterion) {
    let device: Device = locallm_model::default_device().unwrap();
    let normal = Distribution::Normal(0.0, 1.0);
    let x = Tensor::<3>::random([1, 1, 576], normal, &device);
    let norm = RmsNorm::new(Tensor::ones([576], &device), 1e-5);
    c.bench_function("rms_norm_576", |b| {
        b.iter(|| norm.forward(x.clone()).into_data())
    });

    let rope = Rope::new(64, 100_000.0);
    let q = Tensor::<4>::random([1, 9, 1, 64], normal, &device);
    c.bench_function("rope_9_heads", |b| {
        b.iter(|| rope.apply(q.clone(), 511).into_data())
    });
    let q = q.reshape([1, 3, 3, 64]); // the 3 query heads of each KV head as rows

    // one query against 512 cached positions, 9 query heads sharing 3 KV heads
    let k = Tensor::<4>::random([1, 3, 512, 64], normal, &device);
    let v = Tensor::<4>::random([1, 3, 512, 64], normal, &device);
    c.bench_function("attention_step_512", |b| {
        b.iter(|| {
            let scores = q.clone().matmul(k.clone().swap_dims(2, 3)).div_scalar(8.0);
            let w = burn::tensor::activation::softmax(scores, 3);
            w.matmul(v.clone()).into_data()
        })
    });
}

criterion_group!(benches, ops);
criterion_main!(benches);
