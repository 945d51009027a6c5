//! Solution of the chapter 26 exercise (see `ch26-lora/src/lib.rs`).

/// `[n, d_out]`: `x·W + scale·(x·A)·B`.
#[allow(clippy::too_many_arguments)]
pub fn lora_forward(
    x: &[f32],
    w: &[f32],
    a: &[f32],
    b: &[f32],
    n: usize,
    d_in: usize,
    d_out: usize,
    r: usize,
    scale: f32,
) -> Vec<f32> {
    let mut out = vec![0.0f32; n * d_out];
    for t in 0..n {
        let x = &x[t * d_in..(t + 1) * d_in];
        let y = &mut out[t * d_out..(t + 1) * d_out];
        // base: x·W
        for (i, &xi) in x.iter().enumerate() {
            for (o, yo) in y.iter_mut().enumerate() {
                *yo += xi * w[i * d_out + o];
            }
        }
        // low rank: (x·A)·B, r numbers in the middle
        let mut down = vec![0.0f32; r];
        for (i, &xi) in x.iter().enumerate() {
            for (k, dk) in down.iter_mut().enumerate() {
                *dk += xi * a[i * r + k];
            }
        }
        for (k, &dk) in down.iter().enumerate() {
            for (o, yo) in y.iter_mut().enumerate() {
                *yo += scale * dk * b[k * d_out + o];
            }
        }
    }
    out
}

/// The sizes of a Llama that matter for LoRA.
#[derive(Debug, Clone, Copy)]
pub struct Dims {
    pub n_layers: usize,
    pub d_model: usize,
    pub q_dim: usize,
    pub kv_dim: usize,
    pub ffn_dim: usize,
}

/// Trainable numbers of rank-`r` adapters on `targets` in every layer.
pub fn count_trainable(dims: Dims, r: usize, targets: &[&str]) -> usize {
    let Dims {
        n_layers,
        d_model: d,
        q_dim: q,
        kv_dim: kv,
        ffn_dim: ffn,
    } = dims;
    let per_layer: usize = targets
        .iter()
        .map(|t| match *t {
            "q" => (d, q),
            "k" | "v" => (d, kv),
            "o" => (q, d),
            "gate" | "up" => (d, ffn),
            "down" => (ffn, d),
            other => panic!("unknown target {other}"),
        })
        .map(|(d_in, d_out)| r * (d_in + d_out))
        .sum();
    n_layers * per_layer
}

/// `W + scale · lora_B · lora_A`, all PyTorch layout.
pub fn merge_peft(
    w_rows: &[f32],
    lora_a: &[f32],
    lora_b: &[f32],
    d_out: usize,
    d_in: usize,
    r: usize,
    scale: f32,
) -> Vec<f32> {
    let mut out = w_rows.to_vec();
    for o in 0..d_out {
        for i in 0..d_in {
            let delta: f32 = (0..r)
                .map(|k| lora_b[o * r + k] * lora_a[k * d_in + i])
                .sum();
            out[o * d_in + i] += scale * delta;
        }
    }
    out
}
