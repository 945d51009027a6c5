//! Adapters in Hugging Face PEFT's on-disk layout.
//!
//! A PEFT LoRA adapter is a directory with two files:
//!
//! - `adapter_config.json`: `peft_type: "LORA"`, `r`, `lora_alpha`,
//!   `target_modules`, `use_rslora`, ...;
//! - `adapter_model.safetensors`: for each adapted module, `lora_A.weight`
//!   `[r, in]` and `lora_B.weight` `[out, r]`, named after the module's path
//!   in the Transformers model, e.g.
//!   `base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight`.
//!
//! Two files cannot be replaced in one atomic step, so each is written
//! atomically (temporary name, then rename) and the pair is tied together:
//! the config goes first, and the weights carry the SHA-256 of the config
//! they were written with in their safetensors metadata. A save killed
//! between the two renames leaves a new config next to old weights, which
//! [`load_adapter`] refuses instead of loading a mix. (Adapters from PEFT
//! itself have no such key and load as they are.)
//!
//! PyTorch stores a linear layer's weight as `[out, in]` and computes
//! `x·Wᵀ`; PEFT's `lora_A` is `[r, in]` for the same reason. Our `A` is
//! burn-style `[in, r]`, so both factors are transposed on the way out and back.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use locallm_model::{Llama, LoraAdapter};
use locallm_train::checkpoint::{read_safetensors, safetensors_bytes, to_vec};
use locallm_train::write_atomic;
use serde_json::json;

use crate::attach::{adapters, proj_mut};
use crate::config::{LoraConfig, Target};
use crate::{LoraError, io_err};

pub const CONFIG_FILE: &str = "adapter_config.json";
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";
/// Safetensors metadata key: the SHA-256 of the `adapter_config.json` the
/// weights belong to.
pub const CONFIG_SHA256_KEY: &str = "locallm.adapter_config_sha256";

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The PEFT tensor-name prefix of one adapted module.
pub fn peft_module(layer: usize, t: Target) -> String {
    format!(
        "base_model.model.model.layers.{layer}.{}.{}",
        t.hf_parent(),
        t.hf_name()
    )
}

/// `[rows, cols]` row-major → `[cols, rows]`.
fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    out
}

fn values(t: Tensor<2>) -> Vec<f32> {
    let n = t.shape().num_elements();
    to_vec(&t.without_autodiff().reshape([n]))
}

// ANCHOR: save_adapter
/// Writes the model's adapters to `dir` (created if needed) in PEFT's layout.
pub fn save_adapter(
    model: &Llama,
    config: &LoraConfig,
    base_model: &str,
    dir: &Path,
) -> Result<(), LoraError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut tensors = BTreeMap::new();
    for (layer, t, adapter) in adapters(model) {
        let [d_in, r] = adapter.a.val().dims();
        let [_, d_out] = adapter.b.val().dims();
        let module = peft_module(layer, t);
        let a = transpose(&values(adapter.a.val()), d_in, r); // → [r, in]
        let b = transpose(&values(adapter.b.val()), r, d_out); // → [out, r]
        tensors.insert(format!("{module}.lora_A.weight"), (vec![r, d_in], a));
        tensors.insert(format!("{module}.lora_B.weight"), (vec![d_out, r], b));
    }
    let targets: Vec<&str> = config.targets.iter().map(|t| t.hf_name()).collect();
    let json = json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": config.rank,
        "lora_alpha": config.alpha,
        "use_rslora": config.rslora,
        "target_modules": targets,
        "lora_dropout": 0.0,
        "bias": "none",
        "fan_in_fan_out": false,
        "inference_mode": true,
        "init_lora_weights": true,
        "modules_to_save": null,
    });
    // the config first; the weights name it by hash (see the module docs)
    let cfg = dir.join(CONFIG_FILE);
    let text = serde_json::to_string_pretty(&json).expect("json");
    write_atomic(&cfg, text.as_bytes()).map_err(io_err(&cfg))?;
    let weights = dir.join(WEIGHTS_FILE);
    let metadata = [
        ("format".to_string(), "pt".to_string()), // what PEFT writes
        (CONFIG_SHA256_KEY.to_string(), sha256_hex(text.as_bytes())),
    ];
    let bytes = safetensors_bytes(&tensors, Some(metadata.into()));
    write_atomic(&weights, &bytes).map_err(io_err(&weights))?;
    Ok(())
}
// ANCHOR_END: save_adapter

/// Reads `adapter_config.json` into a [`LoraConfig`].
pub fn read_config(dir: &Path) -> Result<LoraConfig, LoraError> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    parse_config(&path, &text)
}

fn parse_config(path: &Path, text: &str) -> Result<LoraConfig, LoraError> {
    let bad = |reason: String| LoraError::Adapter {
        path: path.display().to_string(),
        reason,
    };
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    if v["peft_type"].as_str() != Some("LORA") {
        return Err(bad(format!(
            "peft_type is {}, not \"LORA\"",
            v["peft_type"]
        )));
    }
    let rank = v["r"]
        .as_u64()
        .ok_or_else(|| bad("no integer `r`".into()))? as usize;
    let alpha = v["lora_alpha"]
        .as_f64()
        .ok_or_else(|| bad("no number `lora_alpha`".into()))? as f32;
    let rslora = v["use_rslora"].as_bool().unwrap_or(false);
    let targets = match &v["target_modules"] {
        serde_json::Value::Array(a) => a
            .iter()
            .map(|t| Target::parse(t.as_str().unwrap_or("?")))
            .collect::<Result<Vec<_>, _>>()?,
        other => return Err(bad(format!("target_modules is {other}, expected a list"))),
    };
    let config = LoraConfig {
        rank,
        alpha,
        rslora,
        targets,
    };
    config.validate()?;
    Ok(config)
}

// ANCHOR: load_adapter
/// Attaches the adapter saved in `dir` to `model`, its factors on `device`.
/// Every tensor must match a projection of the model in name and shape.
pub fn load_adapter(
    mut model: Llama,
    dir: &Path,
    device: &Device,
) -> Result<(Llama, LoraConfig), LoraError> {
    let config_path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&config_path).map_err(io_err(&config_path))?;
    let config = parse_config(&config_path, &text)?;
    let path = dir.join(WEIGHTS_FILE);
    let (mut tensors, metadata) = read_safetensors(&path)?;
    let bad = |reason: String| LoraError::Adapter {
        path: path.display().to_string(),
        reason,
    };
    if let Some(want) = metadata.get(CONFIG_SHA256_KEY)
        && *want != sha256_hex(text.as_bytes())
    {
        return Err(bad(format!(
            "these weights were saved with another {CONFIG_FILE} (was a save \
             interrupted?); save the adapter again"
        )));
    }
    let n_layers = model.blocks.len();
    for layer in 0..n_layers {
        for &t in &config.targets {
            let p = proj_mut(&mut model.blocks[layer], t);
            let (d_in, d_out) = p.dims();
            let module = peft_module(layer, t);
            let mut take = |which: &str, shape: [usize; 2]| {
                let name = format!("{module}.{which}.weight");
                match tensors.remove(&name) {
                    Some((s, v)) if s == shape => Ok(v),
                    Some((s, _)) => {
                        Err(bad(format!("`{name}` has shape {s:?}, expected {shape:?}")))
                    }
                    None => Err(bad(format!("`{name}` is missing"))),
                }
            };
            let a = take("lora_A", [config.rank, d_in])?;
            let b = take("lora_B", [d_out, config.rank])?;
            let a = transpose(&a, config.rank, d_in); // → [in, r]
            let b = transpose(&b, d_out, config.rank); // → [r, out]
            let tensor = |v: Vec<f32>, shape: [usize; 2]| {
                Param::from_tensor(Tensor::<2>::from_data(TensorData::new(v, shape), device))
            };
            p.lora = Some(LoraAdapter {
                a: tensor(a, [d_in, config.rank]),
                b: tensor(b, [config.rank, d_out]),
                scale: config.scale(),
            });
        }
    }
    if let Some(name) = tensors.keys().next() {
        return Err(bad(format!(
            "`{name}` does not belong to any adapted module of this model"
        )));
    }
    Ok((model, config))
}
// ANCHOR_END: load_adapter
