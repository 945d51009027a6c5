//! A trained model written as a GGUF file that `locallm generate` and
//! llama.cpp load.
//!
//! A from-scratch model has no source file to copy from (unlike a merged
//! LoRA or a pruned model), so every key is written here: the `llama.*`
//! shape keys the loader reads, the tokenizer's `tokenizer.*` keys (passed
//! in: a freshly trained BPE, or a teacher's vocabulary for a distilled
//! student), and every tensor in F32 (`general.file_type` 0). Quantizing it
//! afterwards is `locallm quantize`'s job.

use std::path::Path;

use burn::tensor::Tensor;
use locallm_model::Llama;
use locallm_quant::{GgmlType, MetaValue, TensorInfo, write_gguf};

/// `llama_ftype` `LLAMA_FTYPE_ALL_F32`.
const FILE_TYPE_F32: u32 = 0;

/// GGUF `llama.*` and `general.*` keys describing `model`'s architecture.
pub fn llama_metadata(model: &Llama, name: &str) -> Vec<(String, MetaValue)> {
    let c = &model.config;
    let u = |v: usize| MetaValue::U32(v as u32);
    let mut md = vec![
        (
            "general.architecture".into(),
            MetaValue::String("llama".into()),
        ),
        ("general.name".into(), MetaValue::String(name.into())),
        ("general.file_type".into(), MetaValue::U32(FILE_TYPE_F32)),
        ("llama.vocab_size".into(), u(c.vocab_size)),
        ("llama.context_length".into(), u(c.context_length)),
        ("llama.embedding_length".into(), u(c.d_model)),
        ("llama.block_count".into(), u(c.n_layers)),
        ("llama.feed_forward_length".into(), u(c.ffn_dim)),
        ("llama.attention.head_count".into(), u(c.n_heads)),
        ("llama.attention.head_count_kv".into(), u(c.n_kv_heads)),
        ("llama.rope.dimension_count".into(), u(c.head_dim)),
        ("llama.rope.freq_base".into(), MetaValue::F32(c.rope_base)),
        (
            "llama.attention.layer_norm_rms_epsilon".into(),
            MetaValue::F32(c.rms_eps),
        ),
    ];
    if c.q_dim() != c.d_model {
        md.push(("llama.attention.key_length".into(), u(c.head_dim)));
        md.push(("llama.attention.value_length".into(), u(c.head_dim)));
    }
    md
}

// ANCHOR: export_gguf
/// Writes `model` (any device) with `tokenizer` keys to `path`, all F32.
pub fn export_gguf(
    model: &Llama,
    name: &str,
    tokenizer: &[(String, MetaValue)],
    path: &Path,
) -> Result<(), locallm_quant::GgufWriteError> {
    let mut metadata = llama_metadata(model, name);
    metadata.extend(tokenizer.iter().cloned());
    // (GGUF name, [d_out, d_in] rows); burn keeps linear weights as
    // [d_in, d_out], GGUF as rows, hence the transposes
    let mut matrices: Vec<(String, Tensor<2>)> = vec![
        ("token_embd.weight".into(), model.embed.weight()), // [vocab, d]: rows already
        (
            "output.weight".into(),
            model.output.base_weight().transpose(),
        ),
    ];
    let mut vectors: Vec<(String, Tensor<1>)> =
        vec![("output_norm.weight".into(), model.norm.weight.val())];
    for (i, b) in model.blocks.iter().enumerate() {
        let name = |t: &str| format!("blk.{i}.{t}.weight");
        for (t, p) in [
            ("attn_q", &b.attn.q),
            ("attn_k", &b.attn.k),
            ("attn_v", &b.attn.v),
            ("attn_output", &b.attn.o),
            ("ffn_gate", &b.mlp.gate),
            ("ffn_up", &b.mlp.up),
            ("ffn_down", &b.mlp.down),
        ] {
            matrices.push((name(t), p.base_weight().transpose()));
        }
        vectors.push((name("attn_norm"), b.attn_norm.weight.val()));
        vectors.push((name("ffn_norm"), b.ffn_norm.weight.val()));
    }
    let flat: Vec<(String, Vec<u64>, Tensor<1>)> = matrices
        .into_iter()
        .map(|(n, t)| {
            let [rows, cols] = t.dims();
            (n, vec![cols as u64, rows as u64], t.reshape([rows * cols])) // GGUF: row length first
        })
        .chain(vectors.into_iter().map(|(n, t)| {
            let len = t.dims()[0];
            (n, vec![len as u64], t)
        }))
        .collect();
    let infos: Vec<TensorInfo> = flat
        .iter()
        .map(|(n, shape, _)| TensorInfo {
            name: n.clone(),
            shape: shape.clone(),
            ggml_type: GgmlType::F32,
            offset: 0,
        })
        .collect();
    write_gguf(path, &metadata, &infos, |i| {
        let values = flat[i]
            .2
            .clone()
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()?;
        Ok(values.iter().flat_map(|v| v.to_le_bytes()).collect())
    })
}
// ANCHOR_END: export_gguf
