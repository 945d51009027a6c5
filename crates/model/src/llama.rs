//! The whole model: embedding → N × (attention + MLP, each pre-normed and
//! added to the residual stream) → final norm → output projection.
//!
//! The name is the first family's; every family runs through this one
//! forward pass, its differences read from [`Switches`] (see `family.rs`).

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LinearConfig};
use burn::tensor::{Device, Int, Tensor};

use crate::attention::{Attention, KvCache, Seq};
use crate::config::LlamaConfig;
use crate::family::{Activation, Switches};
use crate::mlp::Mlp;
use crate::proj::Proj;
use crate::quantized::QuantWeight;
use crate::rms_norm::RmsNorm;
use crate::rope::Rope;

/// One transformer block.
#[derive(Module, Debug)]
pub struct Block {
    pub attn_norm: RmsNorm,
    pub attn: Attention,
    /// Gemma: the attention's output is normed again before it is added.
    pub post_attn_norm: Option<RmsNorm>,
    pub ffn_norm: RmsNorm,
    pub mlp: Mlp,
    /// Gemma: so is the MLP's.
    pub post_ffn_norm: Option<RmsNorm>,
}

impl Block {
    /// `x`: `[batch, seq, d_model]` → same shape.
    pub fn forward(
        &self,
        x: Tensor<3>,
        layer: usize,
        start: usize,
        rope: &Rope,
        cache: &mut dyn KvCache,
    ) -> Tensor<3> {
        self.forward_seqs(x, layer, rope, &mut [Seq { start, cache }])
    }

    // ANCHOR: block_forward
    /// `x`: `[batch, seq, d_model]`, its batch rows split evenly over `seqs`
    /// (see [`Attention::forward_seqs`]) → same shape.
    pub fn forward_seqs(
        &self,
        x: Tensor<3>,
        layer: usize,
        rope: &Rope,
        seqs: &mut [Seq<'_>],
    ) -> Tensor<3> {
        // each sub-layer reads a normalised copy and *adds* its result to the stream
        let a = (self.attn).forward_seqs(self.attn_norm.forward(x.clone()), layer, rope, seqs);
        let h = x + post_norm(&self.post_attn_norm, a);
        let m = self.mlp.forward(self.ffn_norm.forward(h.clone()));
        h + post_norm(&self.post_ffn_norm, m)
    }
    // ANCHOR_END: block_forward

    /// Its norms: the two in front, then the post-norms a family may add.
    pub fn norms(&self) -> impl Iterator<Item = &RmsNorm> {
        [&self.attn_norm, &self.ffn_norm]
            .into_iter()
            .chain(self.post_attn_norm.iter())
            .chain(self.post_ffn_norm.iter())
            .chain(self.attn.q_norm.iter())
            .chain(self.attn.k_norm.iter())
    }

    /// Its matrices: attention's four, then the MLP's three.
    pub fn projections(&self) -> [&Proj; 7] {
        let (a, m) = (&self.attn, &self.mlp);
        [&a.q, &a.k, &a.v, &a.o, &m.gate, &m.up, &m.down]
    }
}

fn post_norm(norm: &Option<RmsNorm>, x: Tensor<3>) -> Tensor<3> {
    match norm {
        Some(n) => n.forward(x),
        None => x,
    }
}

/// The token embedding table `[vocab, d_model]`: burn's `Embedding`, or the
/// file's quantized rows, dequantized for the tokens looked up.
#[derive(Module, Debug)]
pub enum TokenEmbedding {
    Dense(Embedding),
    Quantized(QuantWeight),
}

impl TokenEmbedding {
    /// `tokens`: `[batch, seq]` → `[batch, seq, d_model]`.
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        match self {
            TokenEmbedding::Dense(e) => e.forward(tokens),
            TokenEmbedding::Quantized(q) => q.embed(tokens),
        }
    }

    /// The table as a dense `[vocab, d_model]` tensor.
    pub fn weight(&self) -> Tensor<2> {
        match self {
            TokenEmbedding::Dense(e) => e.weight.val(),
            TokenEmbedding::Quantized(q) => q.to_dense().transpose(),
        }
    }
}

#[derive(Module, Debug)]
pub struct Llama {
    pub embed: TokenEmbedding, // [vocab, d_model]
    pub blocks: Vec<Block>,
    pub norm: RmsNorm,
    /// `[d_model, vocab]`. With tied embeddings this is the embedding table
    /// transposed (a copy laid out for the matmul, or, quantized, the very
    /// same blocks).
    pub output: Proj,
    #[module(skip)]
    pub config: LlamaConfig,
    /// What this model's family does differently.
    #[module(skip)]
    pub switches: Switches,
    /// RoPE of the global layers (of every layer, without a sliding window).
    #[module(skip)]
    pub rope: Rope,
    /// RoPE of the sliding-window layers, when their base differs.
    #[module(skip)]
    pub rope_swa: Option<Rope>,
}

impl Llama {
    // ANCHOR: llama_forward
    /// `tokens`: `[batch, seq]` ids at positions `start..start+seq` →
    /// final hidden states `[batch, seq, d_model]` (after the last norm).
    pub fn forward_hidden(
        &self,
        tokens: Tensor<2, Int>,
        start: usize,
        cache: &mut dyn KvCache,
    ) -> Tensor<3> {
        self.forward_hidden_seqs(tokens, &mut [Seq { start, cache }])
    }

    /// The same with the batch rows split evenly over `seqs`, each sequence
    /// at its own position with its own cache (a batched decode step).
    pub fn forward_hidden_seqs(&self, tokens: Tensor<2, Int>, seqs: &mut [Seq<'_>]) -> Tensor<3> {
        let mut x = self.embed.forward(tokens); // [batch, seq, d_model]
        if let Some(scale) = self.switches.embed_scale {
            x = x.mul_scalar(scale); // Gemma: √d_model
        }
        for (layer, block) in self.blocks.iter().enumerate() {
            let rope = match &self.rope_swa {
                Some(local) if self.switches.is_swa(layer) => local,
                _ => &self.rope,
            };
            x = block.forward_seqs(x, layer, rope, seqs);
        }
        self.norm.forward(x)
    }

    /// Hidden states → logits over the vocabulary: `[batch, seq, vocab]`.
    pub fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        let logits = self.output.forward(hidden);
        match self.switches.final_softcap {
            // cap · tanh(logit / cap): every logit squashed into (-cap, cap)
            Some(cap) => burn::tensor::activation::tanh(logits.div_scalar(cap)).mul_scalar(cap),
            None => logits,
        }
    }

    /// Logits for every position: `[batch, seq, vocab]`.
    pub fn forward(
        &self,
        tokens: Tensor<2, Int>,
        start: usize,
        cache: &mut dyn KvCache,
    ) -> Tensor<3> {
        self.logits(self.forward_hidden(tokens, start, cache))
    }
    // ANCHOR_END: llama_forward

    /// Logits of the last position only, `[batch, vocab]` — all that generation
    /// needs, and it skips the output projection for the rest of the prompt.
    pub fn forward_last(
        &self,
        tokens: Tensor<2, Int>,
        start: usize,
        cache: &mut dyn KvCache,
    ) -> Tensor<2> {
        self.forward_batch(tokens, &mut [Seq { start, cache }])
    }

    // ANCHOR: forward_batch
    /// One decode step of several sequences at once (continuous batching):
    /// `tokens` `[n, 1]`, row `i` the next token of sequence `i`, at position
    /// `seqs[i].start` in its own cache `seqs[i].cache` → the logits of each,
    /// `[n, vocab]`. The matrices multiply all `n` rows in one call, so the
    /// weights are read once for the step, not once per sequence; only RoPE
    /// and attention run per sequence. (Any `[n·m, seq]` batch works: rows
    /// split evenly over `seqs`, the logits of each row's last position.)
    pub fn forward_batch(&self, tokens: Tensor<2, Int>, seqs: &mut [Seq<'_>]) -> Tensor<2> {
        let hidden = self.forward_hidden_seqs(tokens, seqs);
        let [b, s, _] = hidden.dims();
        let vocab = self.output.dims().1;
        let last = hidden.narrow(1, s - 1, 1); // [batch, 1, d_model]
        self.logits(last).reshape([b, vocab])
    }
    // ANCHOR_END: forward_batch
}

/// Building a model, and counting what it holds.
impl Llama {
    /// A Llama-family model with random weights (burn's default
    /// initialisers; norms at 1), for tests and for training from scratch.
    /// Seed with `device.seed(..)`.
    pub fn init(config: &LlamaConfig, device: &Device) -> Self {
        let switches = Switches::llama(config);
        let lin = |d_in, d_out| LinearConfig::new(d_in, d_out).with_bias(false).init(device);
        let proj = |d_in, d_out| Proj::dense(lin(d_in, d_out));
        let ones = |n| RmsNorm::new(Tensor::ones([n], device), config.rms_eps);
        let (d, q, kv, ffn) = (
            config.d_model,
            config.q_dim(),
            config.kv_dim(),
            config.ffn_dim,
        );
        let blocks = (0..config.n_layers)
            .map(|_| Block {
                attn_norm: ones(d),
                attn: Attention {
                    q: proj(d, q),
                    k: proj(d, kv),
                    v: proj(d, kv),
                    o: proj(q, d),
                    bias: None,
                    q_norm: None,
                    k_norm: None,
                    n_heads: config.n_heads,
                    n_kv_heads: config.n_kv_heads,
                    head_dim: config.head_dim,
                    scale: switches.attn_scale,
                    window: None,
                    fused: None,
                },
                post_attn_norm: None,
                ffn_norm: ones(d),
                mlp: Mlp {
                    gate: proj(d, ffn),
                    up: proj(d, ffn),
                    down: proj(ffn, d),
                    activation: Activation::Silu,
                    fused: None,
                },
                post_ffn_norm: None,
            })
            .collect();
        Llama {
            embed: TokenEmbedding::Dense(EmbeddingConfig::new(config.vocab_size, d).init(device)),
            blocks,
            norm: ones(d),
            output: proj(d, config.vocab_size),
            config: config.clone(),
            switches,
            rope: Rope::new(config.head_dim, config.rope_base),
            rope_swa: None,
        }
    }

    /// Whether the fast path's fused kernels run its attention and MLP
    /// activation (the quantized loader's models): its caches may then lend
    /// their memory to the attention ([`KvCache::update_host`]).
    pub fn runs_fused(&self) -> bool {
        self.blocks.first().is_some_and(|b| b.attn.fused.is_some())
    }

    /// How the projections (every block's and the output layer) hold their weights.
    pub fn weight_storage(&self) -> WeightStorage {
        let projections = self.blocks.iter().flat_map(Block::projections);
        let (mut quantized, mut total) = (0, 0);
        for p in projections.chain([&self.output]) {
            total += 1;
            quantized += matches!(p.base, crate::proj::Base::Quantized(_)) as usize;
        }
        match quantized {
            0 => WeightStorage::F32,
            q if q == total => WeightStorage::Blocks,
            _ => WeightStorage::Mixed,
        }
    }

    // ANCHOR: weight_bytes_per_token
    /// Bytes of weights that one decoded token reads: every matrix of every
    /// block, the output layer and the norms, as they are held (blocks or
    /// f32). The embedding table is not read in full, only one row. Divide a
    /// memory bandwidth by this to get the ceiling of decode speed.
    pub fn weight_bytes_per_token(&self) -> usize {
        let norm = |n: &RmsNorm| 4 * n.weight.dims()[0];
        let blocks: usize = self
            .blocks
            .iter()
            .map(|b| {
                let matrices: usize = b.projections().iter().map(|p| p.base_bytes()).sum();
                matrices + b.norms().map(norm).sum::<usize>()
            })
            .sum();
        blocks + self.output.base_bytes() + norm(&self.norm)
    }
    // ANCHOR_END: weight_bytes_per_token
}

/// How a model's projections hold their weights (`bench`'s `weights` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightStorage {
    /// Every projection in quantized blocks.
    Blocks,
    /// None: all in f32.
    F32,
    /// Some in blocks, some in f32 (types without a SIMD kernel).
    Mixed,
}

impl std::fmt::Display for WeightStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WeightStorage::Blocks => "blocks",
            WeightStorage::F32 => "f32",
            WeightStorage::Mixed => "mixed",
        })
    }
}
