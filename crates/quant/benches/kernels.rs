//! `cargo bench -p locallm-quant`: the block kernels, on the shapes of the
//! default model (d = 576, ffn = 1536, vocab = 49152), so that a regression in
//! the fast path shows up as a number: the engine's f32-activation kernels
//! (those of the K-quant mixes too), and ggml's 8-bit-activation ones for
//! comparison.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use locallm_quant::GgmlType;
use locallm_quant::blocks::{dequantize, quantize};
use locallm_quant::kernels::{
    Kernels, MatvecF32, Q8Activation, ROWS_MAX, gemm_f32_many, matvec_f32_threaded, matvec_q8,
};

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 1000.0 - 1.0)
        .collect()
}

fn matvec(c: &mut Criterion) {
    let shapes = [
        ("576x1536", 1536, 576),
        ("1536x576", 576, 1536),
        ("576x49152", 49152, 576),
    ];
    for ty in [GgmlType::Q4_1, GgmlType::Q4_0, GgmlType::Q8_0] {
        let mut group = c.benchmark_group(format!("matvec_{ty}"));
        for (name, d_out, d_in) in shapes {
            let w = quantize(ty, &values(d_out * d_in, 7)).unwrap();
            let x_f32 = values(d_in, 3);
            let mut x = Q8Activation::default();
            x.quantize(&x_f32);
            let mut y = vec![0.0; d_out];
            group.throughput(Throughput::Bytes(w.len() as u64));
            for kernels in [Kernels::Best, Kernels::Avx2] {
                group.bench_function(format!("{name}_f32_{kernels}"), |b| {
                    b.iter(|| {
                        matvec_f32_threaded(ty, &w, d_out, d_in, &x_f32, &mut y, kernels).unwrap()
                    })
                });
            }
            group.bench_function(name, |b| {
                b.iter(|| matvec_q8(ty, &w, d_out, d_in, &x, &mut y, Kernels::Best).unwrap())
            });
            if name == "576x1536" {
                group.bench_function(format!("{name}_scalar"), |b| {
                    b.iter(|| matvec_q8(ty, &w, d_out, d_in, &x, &mut y, Kernels::Scalar).unwrap())
                });
            }
        }
        group.finish();
    }
    // the types of the K-quant mixes, f32 activations only (the 8-bit scheme
    // has no kernels for them), AVX-512 where the CPU has it against AVX2;
    // K-quant rows must be whole 256-blocks
    for ty in [
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::F16,
    ] {
        let mut group = c.benchmark_group(format!("matvec_{ty}"));
        for (name, d_out, d_in) in shapes {
            if ty.n_bytes(d_in).is_err() {
                continue;
            }
            let w = quantize(ty, &values(d_out * d_in, 7)).unwrap();
            let x = values(d_in, 3);
            let mut y = vec![0.0; d_out];
            group.throughput(Throughput::Bytes(w.len() as u64));
            for kernels in [Kernels::Best, Kernels::Avx2] {
                group.bench_function(format!("{name}_f32_{kernels}"), |b| {
                    b.iter(|| {
                        matvec_f32_threaded(ty, &w, d_out, d_in, &x, &mut y, kernels).unwrap()
                    })
                });
            }
        }
        group.finish();
    }
    let x = values(1536, 5);
    let mut q = Q8Activation::default();
    c.bench_function("quantize_activation_1536", |b| b.iter(|| q.quantize(&x)));
}

/// Prompt batches: the tiled GEMM on `n` activation rows, next to what
/// the model did before it (the whole matrix dequantized per call, before
/// an f32 matrix multiply) and, for a few rows (a batched decode step, the
/// GEMM's few-rows shape), next to one row kernel call per row (what
/// `gemm_pays` chooses where the GEMM would not be faster).
fn gemm(c: &mut Criterion) {
    // SmolLM2's MLP shape; 768 columns for the K-quants' 256-weight blocks
    let types = [
        (GgmlType::Q4_1, 576),
        (GgmlType::Q8_0, 576),
        (GgmlType::F16, 576),
        (GgmlType::Q5_0, 576),
        (GgmlType::Q4_K, 768),
        (GgmlType::Q6_K, 768),
    ];
    let d_out = 1536;
    for (ty, d_in) in types {
        let mut group = c.benchmark_group(format!("gemm_{ty}_{d_in}x{d_out}"));
        let w = quantize(ty, &values(d_out * d_in, 7)).unwrap();
        group.bench_function("dequantize", |b| {
            b.iter(|| dequantize(ty, &w, d_out * d_in).unwrap())
        });
        for n in [2, 4, 8, 64, 512] {
            let x = values(n * d_in, 3);
            let mut y = vec![0.0; n * d_out];
            group.throughput(Throughput::Elements((n * d_out * d_in) as u64));
            for kernels in [Kernels::Best, Kernels::Avx2] {
                group.bench_function(format!("n{n}_{kernels}"), |b| {
                    b.iter(|| {
                        let mut mats = [MatvecF32 {
                            ty,
                            weights: &w,
                            d_out,
                            y: &mut y,
                        }];
                        gemm_f32_many(&mut mats, &x, [n, d_in], kernels).unwrap()
                    })
                });
            }
            if n <= ROWS_MAX {
                group.bench_function(format!("n{n}_rows"), |b| {
                    b.iter(|| {
                        for (x, y) in x.chunks_exact(d_in).zip(y.chunks_exact_mut(d_out)) {
                            matvec_f32_threaded(ty, &w, d_out, d_in, x, y, Kernels::Best).unwrap()
                        }
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, matvec, gemm);
criterion_main!(benches);
