//! The whole training state in one safetensors file, written atomically.
//!
//! A checkpoint holds the trainable tensors, AdamW's two moments for each of
//! them, and a small JSON object (step, seed, losses so far) in the file's
//! `__metadata__`. Resuming from it must land on exactly the numbers an
//! uninterrupted run would have had: dropping the optimizer moments would
//! restart Adam's bias correction and change every later step.
//!
//! A process killed mid-write must not leave a torn file where the last good
//! checkpoint was, so files go to a temporary name first and are renamed into
//! place: on POSIX file systems a rename is atomic.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use locallm_quant::blocks::float;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::TrainError;
use crate::optim::{AdamW, AdamWConfig};

/// Tensors (shape, f32 values) by name, plus free-form JSON state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkpoint {
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    pub state: serde_json::Value,
}

// ANCHOR: write_atomic
/// Writes `bytes` to `path` so that `path` holds either the old or the new
/// content, never a mix: temp file in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?; // the data is on disk before the name points at it
    drop(file);
    std::fs::rename(&tmp, path)
}
// ANCHOR_END: write_atomic

/// Serializes `tensors` (f32) as safetensors bytes with `metadata`.
pub fn safetensors_bytes(
    tensors: &BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    metadata: Option<HashMap<String, String>>,
) -> Vec<u8> {
    let bytes: Vec<(&String, &Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(k, (shape, v))| (k, shape, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views = bytes.iter().map(|(k, shape, data)| {
        let view = TensorView::new(Dtype::F32, shape.to_vec(), data).expect("shape matches data");
        (k.as_str(), view)
    });
    safetensors::serialize(views, metadata).expect("f32 tensors serialize")
}

/// Reads every tensor of a safetensors file as f32 (F32, F16 and BF16 are
/// accepted, as PEFT may save any of them), and its metadata.
#[allow(clippy::type_complexity)]
pub fn read_safetensors(
    path: &Path,
) -> Result<
    (
        BTreeMap<String, (Vec<usize>, Vec<f32>)>,
        HashMap<String, String>,
    ),
    TrainError,
> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| TrainError::Io {
        path: shown.clone(),
        source,
    })?;
    let bad = |reason: String| TrainError::BadCheckpoint {
        path: shown.clone(),
        reason,
    };
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            // the GGUF reader's widenings: exact, NaN payloads kept
            Dtype::F16 | Dtype::BF16 => {
                let mut values = vec![0f32; data.len() / 2];
                let widen = match view.dtype() {
                    Dtype::F16 => float::f16_to_f32,
                    _ => float::bf16_to_f32,
                };
                widen(&data[..values.len() * 2], &mut values);
                values
            }
            other => return Err(bad(format!("tensor `{name}` has dtype {other:?}"))),
        };
        out.insert(name, (view.shape().to_vec(), values));
    }
    Ok((out, meta.metadata().clone().unwrap_or_default()))
}

/// Writes `checkpoint` to `path` atomically.
pub fn save_checkpoint(path: &Path, checkpoint: &Checkpoint) -> std::io::Result<()> {
    let meta = HashMap::from([("state".to_string(), checkpoint.state.to_string())]);
    write_atomic(path, &safetensors_bytes(&checkpoint.tensors, Some(meta)))
}

/// Reads a checkpoint written by [`save_checkpoint`].
pub fn load_checkpoint(path: &Path) -> Result<Checkpoint, TrainError> {
    let (tensors, meta) = read_safetensors(path)?;
    let state = meta
        .get("state")
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| TrainError::BadCheckpoint {
            path: path.display().to_string(),
            reason: "no `state` metadata".into(),
        })?;
    Ok(Checkpoint { tensors, state })
}

/// A flat tensor's values.
pub fn to_vec(t: &Tensor<1>) -> Vec<f32> {
    t.clone()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
}

impl AdamW {
    /// The moments as checkpoint tensors (`adamw.m.<path>`, `adamw.v.<path>`)
    /// and the step count as JSON.
    pub fn to_checkpoint(&self, out: &mut Checkpoint) {
        for (kind, map) in [("m", &self.m), ("v", &self.v)] {
            for (path, t) in map {
                let values = to_vec(t);
                out.tensors
                    .insert(format!("adamw.{kind}.{path}"), (vec![values.len()], values));
            }
        }
        out.state["adamw_t"] = self.t.into();
    }

    /// The optimizer saved by [`AdamW::to_checkpoint`].
    pub fn from_checkpoint(config: AdamWConfig, ckpt: &Checkpoint, device: &Device) -> Self {
        let mut opt = AdamW::new(config);
        opt.t = ckpt.state["adamw_t"].as_u64().unwrap_or(0);
        for (name, (shape, values)) in &ckpt.tensors {
            let n = shape.iter().product::<usize>();
            let t = || Tensor::<1>::from_data(TensorData::new(values.clone(), [n]), device);
            if let Some(path) = name.strip_prefix("adamw.m.") {
                opt.m.insert(path.to_string(), t());
            } else if let Some(path) = name.strip_prefix("adamw.v.") {
                opt.v.insert(path.to_string(), t());
            }
        }
        opt
    }
}

/// Stores every trainable parameter of `module` as `param.<path>`.
pub fn params_to_checkpoint<M: burn::module::Module>(module: &M, out: &mut Checkpoint) {
    for (p, t) in crate::params::trainable_params(module) {
        let v = to_vec(&t);
        out.tensors.insert(format!("param.{p}"), (vec![v.len()], v));
    }
}

/// Puts the checkpoint's `param.<path>` values back into `module`'s
/// trainable parameters (on `device`); every one of them must be there, with
/// the right size.
pub fn restore_params<M: burn::module::Module>(
    module: M,
    ckpt: &Checkpoint,
    device: &Device,
    path: &Path,
) -> Result<M, TrainError> {
    let mut missing = None;
    let module = crate::params::map_trainable(module, |p, value| {
        match ckpt.tensors.get(&format!("param.{p}")) {
            Some((_, v)) if v.len() == value.dims()[0] => {
                Tensor::from_data(TensorData::new(v.clone(), [v.len()]), device)
            }
            _ => {
                missing.get_or_insert(p.to_string());
                value
            }
        }
    });
    match missing {
        Some(p) => Err(TrainError::BadCheckpoint {
            path: path.display().to_string(),
            reason: format!("no usable `param.{p}`"),
        }),
        None => Ok(module),
    }
}

/// A training run's state: what a checkpoint restores and what it saves.
#[derive(Debug)]
pub struct RunState<M> {
    pub model: M,
    pub optimizer: AdamW,
    /// Steps done.
    pub step: usize,
    /// Training loss of every step so far.
    pub losses: Vec<f32>,
    /// `(step, held-out loss)` so far.
    pub eval_losses: Vec<(usize, f32)>,
}

impl<M: burn::module::Module> RunState<M> {
    /// Writes the state of the run identified by `run` to `path`, atomically.
    pub fn save(&self, path: &Path, run: &serde_json::Value) -> Result<(), TrainError> {
        let mut ckpt = Checkpoint {
            state: serde_json::json!({
                "run": run, "step": self.step,
                "losses": self.losses, "eval_losses": self.eval_losses,
            }),
            ..Checkpoint::default()
        };
        params_to_checkpoint(&self.model, &mut ckpt);
        self.optimizer.to_checkpoint(&mut ckpt);
        save_checkpoint(path, &ckpt).map_err(|source| TrainError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The state saved at `path` by [`RunState::save`], put into `self`'s
    /// model (on the autodiff `train_device`; the optimizer's moments, like
    /// the gradients, live on the plain `device`); refused if another `run`
    /// wrote it.
    pub fn resume(
        self,
        path: &Path,
        run: &serde_json::Value,
        device: &Device,
        train_device: &Device,
    ) -> Result<Self, TrainError> {
        let ckpt = load_checkpoint(path)?;
        let saved = &ckpt.state["run"];
        if saved != run {
            return Err(TrainError::Config(format!(
                "checkpoint {} was written by a different run ({saved}); not resuming",
                path.display()
            )));
        }
        let state = |key: &str| ckpt.state[key].clone();
        Ok(RunState {
            model: restore_params(self.model, &ckpt, train_device, path)?,
            optimizer: AdamW::from_checkpoint(self.optimizer.config, &ckpt, device),
            step: state("step").as_u64().unwrap_or(0) as usize,
            losses: serde_json::from_value(state("losses")).unwrap_or_default(),
            eval_losses: serde_json::from_value(state("eval_losses")).unwrap_or_default(),
        })
    }
}
