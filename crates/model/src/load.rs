//! From a GGUF file to burn modules.
//!
//! GGUF names tensors like `blk.3.attn_q.weight` and stores a linear layer's
//! weight as `[d_out, d_in]` rows (ggml's `ne = [d_in, d_out]`). burn's
//! `Linear` multiplies `x · W` with `W: [d_in, d_out]`, so each matrix is
//! transposed once, here, at load time. The plain path dequantizes everything
//! to f32; the quantized path keeps the blocks where they are.

use std::sync::Arc;

use burn::module::Param;
use burn::nn::{Embedding, Linear};
use burn::tensor::{Device, Tensor, TensorData};
use locallm_quant::GgufFile;

use crate::ModelError;
use crate::attention::Attention;
use crate::config::LlamaConfig;
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
    let loader = Loader {
        gguf,
        blocks,
        device,
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
                None if gguf.tensor("output.weight").is_some() => {
                    loader.proj("output.weight", d, vocab)?
                }
                None => Proj::quantized(table.clone()),
            };
            (TokenEmbedding::Quantized(table), output)
        }
        None => {
            let embed_rows = loader.matrix("token_embd.weight", vocab, d)?; // [vocab, d_model]
            let output = match gguf.tensor("output.weight") {
                Some(_) => loader.proj("output.weight", d, vocab)?,
                // tied embeddings: the output layer is the embedding table, transposed
                None => Proj::dense(linear_from_rows(&embed_rows, vocab, d, device)),
            };
            let embed = Embedding {
                weight: Param::from_tensor(tensor2(embed_rows, [vocab, d], device)),
            };
            (TokenEmbedding::Dense(embed), output)
        }
    };

    let mut blocks = Vec::with_capacity(config.n_layers);
    for i in 0..config.n_layers {
        let name = |t: &str| format!("blk.{i}.{t}.weight");
        blocks.push(Block {
            attn_norm: RmsNorm::new(loader.vector(&name("attn_norm"), d)?, config.rms_eps),
            attn: Attention {
                q: loader.proj(&name("attn_q"), d, q)?,
                k: loader.proj(&name("attn_k"), d, kv)?,
                v: loader.proj(&name("attn_v"), d, kv)?,
                o: loader.proj(&name("attn_output"), q, d)?,
                n_heads: config.n_heads,
                n_kv_heads: config.n_kv_heads,
                head_dim: config.head_dim,
            },
            ffn_norm: RmsNorm::new(loader.vector(&name("ffn_norm"), d)?, config.rms_eps),
            mlp: Mlp {
                gate: loader.proj(&name("ffn_gate"), d, ffn)?,
                up: loader.proj(&name("ffn_up"), d, ffn)?,
                down: loader.proj(&name("ffn_down"), ffn, d)?,
            },
        });
    }
    let norm = RmsNorm::new(loader.vector("output_norm.weight", d)?, config.rms_eps);
    let rope = Rope::new(config.head_dim, config.rope_base);
    Ok(Llama {
        embed,
        blocks,
        norm,
        output,
        config,
        rope,
    })
}

struct Loader<'a> {
    gguf: &'a GgufFile,
    /// The file again, shared, when matrices should keep their blocks, and
    /// the kernels to multiply them with.
    blocks: Option<(&'a Arc<GgufFile>, Kernels)>,
    device: &'a Device,
}

impl Loader<'_> {
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
        QuantWeight::new(file, name, d_in, d_out, self.device, kernels)
    }

    /// A projection, no adapter yet: quantized if possible, else dense f32.
    fn proj(&self, name: &str, d_in: usize, d_out: usize) -> Result<Proj, ModelError> {
        match self.quantized(name, d_in, d_out) {
            Some(q) => Ok(Proj::quantized(q)),
            None => Ok(Proj::dense(self.linear(name, d_in, d_out)?)),
        }
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
