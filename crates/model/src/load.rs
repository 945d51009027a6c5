//! From a GGUF file to burn modules.
//!
//! GGUF names tensors like `blk.3.attn_q.weight` and stores a linear layer's
//! weight as `[d_out, d_in]` rows (ggml's `ne = [d_in, d_out]`). burn's
//! `Linear` multiplies `x · W` with `W: [d_in, d_out]`, so each matrix is
//! transposed once, here, at load time. The plain path dequantizes everything
//! to f32; the quantized path keeps the blocks where they are.
//!
//! The families name their tensors alike; where they differ the file says
//! so by what it holds: `attn_qkv` (Phi-3's fused Q, K, V), an `ffn_up` with
//! no `ffn_gate` (Phi-3's fused gate and up), `attn_q.bias` (Qwen 2),
//! `attn_q_norm` (Qwen 3, Gemma 3), `post_attention_norm` (Gemma 3),
//! `rope_freqs` (Llama 3). A tensor the model would not use is an error.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, Tensor, TensorData};
use locallm_quant::GgufFile;

use crate::ModelError;
use crate::attention::{Attention, QkvBias};
use crate::config::LlamaConfig;
use crate::family::{Family, Switches};
use crate::llama::{Block, Llama, TokenEmbedding};
use crate::mlp::Mlp;
use crate::options::{Kernels, LoadOptions, Weights};
use crate::proj::Proj;
use crate::quantized::QuantWeight;
use crate::rms_norm::RmsNorm;
use crate::rope::Rope;

/// Loads a Llama model from an opened GGUF file onto `device`, every weight
/// dequantized to f32: the plain path, the reference the fast one is tested
/// against, and the starting point for training.
pub fn load_llama(gguf: &GgufFile, device: &Device) -> Result<Llama, ModelError> {
    load(gguf, None, device)
}

/// Loads a Llama model whose matrices stay in their quantized blocks inside
/// the memory-mapped file (see [`crate::quantized`]) wherever a SIMD kernel
/// exists for their type, to be multiplied with `kernels`; other tensors
/// (norms, other types) are dequantized as in [`load_llama`]. The kernels run
/// on the host: use it with a CPU backend.
pub fn load_llama_quantized(
    gguf: &Arc<GgufFile>,
    device: &Device,
    kernels: Kernels,
) -> Result<Llama, ModelError> {
    load(gguf, Some((gguf, kernels)), device)
}

/// Loads for inference as `options` ask, onto `device` (the one
/// `options.backend` names): the quantized path on a CPU backend, the plain
/// one on another or when `options.weights` is [`Weights::F32`].
pub fn load_llama_for_inference(
    gguf: &Arc<GgufFile>,
    device: &Device,
    options: &LoadOptions,
) -> Result<Llama, ModelError> {
    if options.weights == Weights::F32 || !options.backend.is_cpu() {
        load_llama(gguf, device)
    } else {
        load_llama_quantized(gguf, device, options.kernels)
    }
}

fn load(
    gguf: &GgufFile,
    blocks: Option<(&Arc<GgufFile>, Kernels)>,
    device: &Device,
) -> Result<Llama, ModelError> {
    let config = LlamaConfig::from_metadata(&gguf.metadata)?;
    let switches = Switches::from_metadata(&gguf.metadata, &config)?;
    // the fast path's kernels also run a prompt's attention and the MLP's
    // activation, fused
    let fused = blocks.map(|(_, kernels)| kernels);
    let loader = Loader {
        gguf,
        blocks,
        device,
        used: RefCell::new(HashSet::new()),
    };
    let (d, q, kv, ffn, vocab) = (
        config.d_model,
        config.q_dim(),
        config.kv_dim(),
        config.ffn_dim,
        config.vocab_size,
    );

    let (embed, output) = match loader.quantized("token_embd.weight", d, vocab) {
        // the blocks serve both as the table and, tied, as the output layer
        Some(table) => {
            let output = match loader.quantized("output.weight", d, vocab) {
                Some(out) => Proj::quantized(out),
                None if loader.has("output.weight") => loader.proj("output.weight", d, vocab)?,
                None => Proj::quantized(table.clone()),
            };
            (TokenEmbedding::Quantized(table), output)
        }
        None => {
            let embed_rows = loader.matrix("token_embd.weight", vocab, d)?; // [vocab, d_model]
            let output = match loader.has("output.weight") {
                true => loader.proj("output.weight", d, vocab)?,
                // tied embeddings: the output layer is the embedding table, transposed
                false => Proj::dense(linear_from_rows(&embed_rows, vocab, d, device)),
            };
            let embed = Embedding {
                weight: Param::from_tensor(tensor2(embed_rows, [vocab, d], device)),
            };
            (TokenEmbedding::Dense(embed), output)
        }
    };

    let norm = |name: &str, n: usize| -> Result<RmsNorm, ModelError> {
        Ok(RmsNorm::new(loader.vector(name, n)?, config.rms_eps))
    };
    let mut blocks = Vec::with_capacity(config.n_layers);
    for i in 0..config.n_layers {
        let name = |t: &str| format!("blk.{i}.{t}.weight");
        let bias = |t: &str| format!("blk.{i}.{t}.bias");
        // Phi-3 fuses Q, K and V into one matrix; the others keep three
        let [wq, wk, wv] = match loader.has(&name("attn_qkv")) {
            true => loader.split(&name("attn_qkv"), d, [q, kv, kv])?,
            false => [
                loader.proj(&name("attn_q"), d, q)?,
                loader.proj(&name("attn_k"), d, kv)?,
                loader.proj(&name("attn_v"), d, kv)?,
            ],
        };
        // Qwen 2's biases (llama.cpp reads them for any family that has them)
        let qkv_bias = match loader.has(&bias("attn_q")) {
            true => Some(QkvBias {
                q: Param::from_tensor(loader.vector(&bias("attn_q"), q)?),
                k: Param::from_tensor(loader.vector(&bias("attn_k"), kv)?),
                v: Param::from_tensor(loader.vector(&bias("attn_v"), kv)?),
            }),
            false => None,
        };
        let qk_norm = |t: &str| switches.qk_norm.then(|| norm(&name(t), config.head_dim));
        let post_norm = |t: &str| switches.post_norms.then(|| norm(&name(t), d));
        // Phi-3 fuses gate and up: rows 0..ffn are the gate, ffn..2·ffn the up
        let [gate, up] = match loader.has(&name("ffn_gate")) {
            true => [
                loader.proj(&name("ffn_gate"), d, ffn)?,
                loader.proj(&name("ffn_up"), d, ffn)?,
            ],
            false => loader.split(&name("ffn_up"), d, [ffn, ffn])?,
        };
        blocks.push(Block {
            attn_norm: norm(&name("attn_norm"), d)?,
            attn: Attention {
                q: wq,
                k: wk,
                v: wv,
                o: loader.proj(&name("attn_output"), q, d)?,
                bias: qkv_bias,
                q_norm: qk_norm("attn_q_norm").transpose()?,
                k_norm: qk_norm("attn_k_norm").transpose()?,
                n_heads: config.n_heads,
                n_kv_heads: config.n_kv_heads,
                head_dim: config.head_dim,
                scale: switches.attn_scale,
                window: switches.sliding_window.filter(|_| switches.is_swa(i)),
                fused,
            },
            post_attn_norm: post_norm("post_attention_norm").transpose()?,
            ffn_norm: norm(&name("ffn_norm"), d)?,
            mlp: Mlp {
                gate,
                up,
                down: loader.proj(&name("ffn_down"), ffn, d)?,
                activation: switches.activation,
                fused,
            },
            post_ffn_norm: post_norm("post_ffw_norm").transpose()?,
        });
    }
    let norm = norm("output_norm.weight", d)?;

    // ANCHOR: load_rope
    let rope = Rope::new(config.head_dim, config.rope_base)
        .with_style(switches.rope_style)
        .with_freq_scale(switches.rope_freq_scale);
    // Llama 3.x: per-pair frequency factors, computed by the converter from
    // the checkpoint's `rope_scaling` (llama.cpp reads them in llama.cpp's
    // graph only, src/models/llama.cpp: `get_rope_factors`)
    let rope = match switches.family == Family::Llama && loader.has("rope_freqs.weight") {
        true => {
            rope.with_freq_factors(&loader.values("rope_freqs.weight", &[config.head_dim / 2])?)
        }
        false => rope,
    };
    // sliding-window layers: their own base, never scaled
    let rope_swa = switches.sliding_window.map(|_| {
        Rope::new(config.head_dim, switches.rope_base_swa).with_style(switches.rope_style)
    });
    // ANCHOR_END: load_rope

    loader.all_used(switches.family)?;
    Ok(Llama {
        embed,
        blocks,
        norm,
        output,
        config,
        switches,
        rope,
        rope_swa,
    })
}

struct Loader<'a> {
    gguf: &'a GgufFile,
    /// The file again, shared, when matrices should keep their blocks, and
    /// the kernels to multiply them with.
    blocks: Option<(&'a Arc<GgufFile>, Kernels)>,
    device: &'a Device,
    /// The tensors read so far: a file with others is refused at the end,
    /// as llama.cpp refuses it ("wrong number of tensors"), rather than run
    /// without a tensor its model needs.
    used: RefCell<HashSet<String>>,
}

impl Loader<'_> {
    fn has(&self, name: &str) -> bool {
        self.gguf.tensor(name).is_some()
    }

    fn mark(&self, name: &str) {
        self.used.borrow_mut().insert(name.to_string());
    }

    /// Every tensor of the file was read, or the first that was not, by name.
    fn all_used(&self, family: Family) -> Result<(), ModelError> {
        let used = self.used.borrow();
        match self.gguf.tensors.iter().find(|t| !used.contains(&t.name)) {
            None => Ok(()),
            Some(t) => Err(ModelError::UnusedTensor {
                name: t.name.clone(),
                family: family.name().to_string(),
            }),
        }
    }

    /// A tensor dequantized to f32, after checking that its GGUF shape is
    /// `ne` (innermost first, as GGUF writes it).
    fn values(&self, name: &str, ne: &[usize]) -> Result<Vec<f32>, ModelError> {
        let info = self
            .gguf
            .tensor(name)
            .ok_or_else(|| ModelError::MissingTensor(name.to_string()))?;
        let shape: Vec<usize> = info.shape.iter().map(|&n| n as usize).collect();
        if shape != ne {
            return Err(ModelError::ShapeMismatch {
                name: name.to_string(),
                expected: ne.to_vec(),
                found: shape,
            });
        }
        self.mark(name);
        Ok(self.gguf.dequantize(info)?)
    }

    /// A `[rows, cols]` row-major matrix (GGUF `ne = [cols, rows]`).
    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Vec<f32>, ModelError> {
        self.values(name, &[cols, rows])
    }

    fn vector(&self, name: &str, n: usize) -> Result<Tensor<1>, ModelError> {
        Ok(Tensor::from_data(
            TensorData::new(self.values(name, &[n])?, [n]),
            self.device,
        ))
    }

    /// The matrix `name` left in its blocks, if asked for and possible.
    fn quantized(&self, name: &str, d_in: usize, d_out: usize) -> Option<QuantWeight> {
        let (file, kernels) = self.blocks?;
        let q = QuantWeight::new(file, name, d_in, d_out, self.device, kernels)?;
        self.mark(name);
        Some(q)
    }

    /// A projection, no adapter yet: quantized if possible, else dense f32.
    fn proj(&self, name: &str, d_in: usize, d_out: usize) -> Result<Proj, ModelError> {
        match self.quantized(name, d_in, d_out) {
            Some(q) => Ok(Proj::quantized(q)),
            None => Ok(Proj::dense(self.linear(name, d_in, d_out)?)),
        }
    }

    /// The `N` projections stacked in the rows of one fused matrix `name`
    /// (`d_outs[0]` rows, then `d_outs[1]`...), each as [`Self::proj`] would.
    fn split<const N: usize>(
        &self,
        name: &str,
        d_in: usize,
        d_outs: [usize; N],
    ) -> Result<[Proj; N], ModelError> {
        let total: usize = d_outs.iter().sum();
        // the first row of each part
        let firsts: Vec<usize> = d_outs
            .iter()
            .scan(0, |row, &n| Some(std::mem::replace(row, *row + n)))
            .collect();
        if let Some((file, kernels)) = self.blocks {
            let parts: Option<Vec<Proj>> = (0..N)
                .map(|i| {
                    let rows = (firsts[i], d_outs[i]);
                    QuantWeight::rows(file, name, d_in, rows, total, self.device, kernels)
                        .map(Proj::quantized)
                })
                .collect();
            if let Some(parts) = parts.and_then(|p| <[Proj; N]>::try_from(p).ok()) {
                self.mark(name);
                return Ok(parts);
            }
        }
        let rows = self.matrix(name, total, d_in)?; // [total, d_in]
        Ok(std::array::from_fn(|i| {
            let part = &rows[firsts[i] * d_in..(firsts[i] + d_outs[i]) * d_in];
            Proj::dense(linear_from_rows(part, d_outs[i], d_in, self.device))
        }))
    }

    /// A linear layer stored as `[d_out, d_in]` rows, returned as burn's `[d_in, d_out]`.
    fn linear(&self, name: &str, d_in: usize, d_out: usize) -> Result<Linear, ModelError> {
        let rows = self.matrix(name, d_out, d_in)?;
        Ok(linear_from_rows(&rows, d_out, d_in, self.device))
    }
}

// ANCHOR: linear_from_rows
/// GGUF/PyTorch keep `W` as `[d_out, d_in]`; burn's `Linear` wants `[d_in, d_out]`.
pub fn linear_from_rows(rows: &[f32], d_out: usize, d_in: usize, device: &Device) -> Linear {
    let mut cols = vec![0.0f32; rows.len()];
    for o in 0..d_out {
        for i in 0..d_in {
            cols[i * d_out + o] = rows[o * d_in + i];
        }
    }
    Linear {
        weight: Param::from_tensor(tensor2(cols, [d_in, d_out], device)),
        bias: None,
    }
}
// ANCHOR_END: linear_from_rows

fn tensor2(values: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, shape), device)
}
