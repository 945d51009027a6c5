//! Adding adapters to a loaded model.
//!
//! The base weights stay where `load_llama` put them, on a plain device: they
//! never require a gradient, so autodiff records nothing for them and the
//! optimizer never sees them. The factors `A` and `B` are created on an
//! autodiff device, as trainable leaves.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use locallm_model::{Llama, LlamaConfig, LoraAdapter, Proj, llama::Block};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::LoraError;
use crate::config::{LoraConfig, Target};

/// The projection `t` of `block`.
pub fn proj(block: &Block, t: Target) -> &Proj {
    match t {
        Target::Q => &block.attn.q,
        Target::K => &block.attn.k,
        Target::V => &block.attn.v,
        Target::O => &block.attn.o,
        Target::Gate => &block.mlp.gate,
        Target::Up => &block.mlp.up,
        Target::Down => &block.mlp.down,
    }
}

/// The projection `t` of `block`, mutably.
pub fn proj_mut(block: &mut Block, t: Target) -> &mut Proj {
    match t {
        Target::Q => &mut block.attn.q,
        Target::K => &mut block.attn.k,
        Target::V => &mut block.attn.v,
        Target::O => &mut block.attn.o,
        Target::Gate => &mut block.mlp.gate,
        Target::Up => &mut block.mlp.up,
        Target::Down => &mut block.mlp.down,
    }
}

// ANCHOR: attach
/// Gives every target projection of every block a fresh adapter on `device`
/// (pass an autodiff device to train it). `A` is drawn as PEFT draws it
/// (Kaiming-uniform: U(-1/√d_in, 1/√d_in)), `B` is zero, so `A·B = 0` and
/// the model computes exactly what it computed before.
pub fn attach(
    mut model: Llama,
    config: &LoraConfig,
    device: &Device,
    seed: u64,
) -> Result<Llama, LoraError> {
    config.validate()?;
    let mut rng = StdRng::seed_from_u64(seed);
    let r = config.rank;
    for block in model.blocks.iter_mut() {
        for &t in &config.targets {
            let p = proj_mut(block, t);
            let (d_in, d_out) = p.dims();
            let bound = 1.0 / (d_in as f32).sqrt();
            let a: Vec<f32> = (0..d_in * r)
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            let a = Tensor::<2>::from_data(TensorData::new(a, [d_in, r]), device);
            let b = Tensor::<2>::zeros([r, d_out], device);
            p.lora = Some(LoraAdapter {
                a: Param::from_tensor(a),
                b: Param::from_tensor(b),
                scale: config.scale(),
            });
        }
    }
    Ok(model)
}
// ANCHOR_END: attach

/// Every adapter of the model: `(layer, target, adapter)`, in layer order.
pub fn adapters(model: &Llama) -> Vec<(usize, Target, &LoraAdapter)> {
    let mut out = Vec::new();
    for (i, block) in model.blocks.iter().enumerate() {
        for t in Target::ALL {
            if let Some(a) = &proj(block, t).lora {
                out.push((i, t, a));
            }
        }
    }
    out
}

/// Number of numbers in the model's adapters (the trainable parameters).
pub fn count_trainable(model: &Llama) -> usize {
    adapters(model)
        .iter()
        .map(|(_, _, a)| a.a.val().shape().num_elements() + a.b.val().shape().num_elements())
        .sum()
}

// ANCHOR: count_formula
/// The same count from the shapes alone: each adapted `[d_in, d_out]` matrix
/// adds `r·(d_in + d_out)` numbers, against `d_in·d_out` for the matrix itself.
pub fn count_trainable_for(model: &LlamaConfig, lora: &LoraConfig) -> usize {
    let (d, q, kv, ffn) = (model.d_model, model.q_dim(), model.kv_dim(), model.ffn_dim);
    let per_layer: usize = lora
        .targets
        .iter()
        .map(|t| match t {
            Target::Q => (d, q),
            Target::K | Target::V => (d, kv),
            Target::O => (q, d),
            Target::Gate | Target::Up => (d, ffn),
            Target::Down => (ffn, d),
        })
        .map(|(d_in, d_out)| lora.rank * (d_in + d_out))
        .sum();
    model.n_layers * per_layer
}
// ANCHOR_END: count_formula
