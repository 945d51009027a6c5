//! Quantization *mixes*: which type each tensor gets when a whole model is
//! quantized to, say, "Q4_K_M".
//!
//! A mix name is not one type. llama.cpp (`src/llama-quant.cpp`,
//! `llama_tensor_get_type`) keeps norms and other 1-D tensors in F32, gives
//! the output matrix (and a tied token embedding) more bits, and in the `_M`
//! mixes spends extra bits on the layers that hurt most when quantized
//! coarsely: `attn_v` and `ffn_down` of the first and last eighth of the
//! layers and every third layer in between (`use_more_bits`). K-quants also
//! need rows that are multiples of 256; a tensor whose row is not (SmolLM2's
//! 576-wide rows) falls back to a 32-block type of similar size.
//!
//! This module ports those rules for the mixes `locallm quantize` offers, for
//! dense models (no experts) of the llama family. Tests compare every
//! tensor's choice with what the real `llama-quantize` wrote.

use std::fmt;

use crate::blocks::GgmlType;
use crate::gguf::TensorInfo;

/// A quantization mix, named as `llama-quantize` names it.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantMix {
    F16,
    Q8_0,
    Q6_K,
    Q5_K_M,
    Q5_K_S,
    Q5_1,
    Q5_0,
    Q4_K_M,
    Q4_K_S,
    Q4_1,
    Q4_0,
    Q3_K_L,
    Q3_K_M,
    Q3_K_S,
    Q2_K,
}

/// A mix name we do not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quantization type {name:?}; expected one of {}", QuantMix::ALL.map(|m| m.name()).join(", "))]
pub struct UnknownMix {
    pub name: String,
}

impl QuantMix {
    pub const ALL: [QuantMix; 15] = {
        use QuantMix::*;
        [
            Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q5_1, Q5_0, Q4_K_M, Q4_K_S, Q4_1, Q4_0, Q3_K_L, Q3_K_M,
            Q3_K_S, Q2_K, F16,
        ]
    };

    /// Parse a name such as `Q4_K_M` (case-insensitive).
    pub fn from_name(name: &str) -> Result<QuantMix, UnknownMix> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownMix { name: name.into() })
    }

    pub fn name(self) -> &'static str {
        use QuantMix::*;
        match self {
            F16 => "F16",
            Q8_0 => "Q8_0",
            Q6_K => "Q6_K",
            Q5_K_M => "Q5_K_M",
            Q5_K_S => "Q5_K_S",
            Q5_1 => "Q5_1",
            Q5_0 => "Q5_0",
            Q4_K_M => "Q4_K_M",
            Q4_K_S => "Q4_K_S",
            Q4_1 => "Q4_1",
            Q4_0 => "Q4_0",
            Q3_K_L => "Q3_K_L",
            Q3_K_M => "Q3_K_M",
            Q3_K_S => "Q3_K_S",
            Q2_K => "Q2_K",
        }
    }

    /// `enum llama_ftype` (`llama.h`), stored as `general.file_type`.
    pub fn file_type(self) -> u32 {
        use QuantMix::*;
        match self {
            F16 => 1,
            Q4_0 => 2,
            Q4_1 => 3,
            Q8_0 => 7,
            Q5_0 => 8,
            Q5_1 => 9,
            Q2_K => 10,
            Q3_K_S => 11,
            Q3_K_M => 12,
            Q3_K_L => 13,
            Q4_K_S => 14,
            Q4_K_M => 15,
            Q5_K_S => 16,
            Q5_K_M => 17,
            Q6_K => 18,
        }
    }

    /// The type most tensors get (`llama_ftype_get_default_type`).
    pub fn default_type(self) -> GgmlType {
        use QuantMix::*;
        match self {
            F16 => GgmlType::F16,
            Q8_0 => GgmlType::Q8_0,
            Q6_K => GgmlType::Q6_K,
            Q5_K_M | Q5_K_S => GgmlType::Q5_K,
            Q5_1 => GgmlType::Q5_1,
            Q5_0 => GgmlType::Q5_0,
            Q4_K_M | Q4_K_S => GgmlType::Q4_K,
            Q4_1 => GgmlType::Q4_1,
            Q4_0 => GgmlType::Q4_0,
            Q3_K_L | Q3_K_M | Q3_K_S => GgmlType::Q3_K,
            Q2_K => GgmlType::Q2_K,
        }
    }
}

impl fmt::Display for QuantMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the rules need to know about the model.
#[derive(Debug, Clone, Copy)]
pub struct MixModel {
    /// `{arch}.block_count`.
    pub n_layer: usize,
    /// Query heads per KV head (`head_count / head_count_kv`).
    pub n_gqa: usize,
}

/// The order in which llama.cpp visits (and writes) tensors: by layer number
/// (`blk.N.`; other tensors count as layer -1), then by name. The per-layer
/// counters of the rules below run in this order.
pub fn llama_order(tensors: &[TensorInfo]) -> Vec<usize> {
    let layer = |name: &str| -> i64 {
        let digits = name.strip_prefix("blk.").map(|r| {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            &r[..end]
        });
        digits.and_then(|d| d.parse().ok()).unwrap_or(-1)
    };
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&tensors[a].name, &tensors[b].name);
        (layer(a), a.as_bytes()).cmp(&(layer(b), b.as_bytes()))
    });
    order
}

/// The broad role of a tensor (`tensor_get_category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Output,
    TokenEmbd,
    AttnV, // attn_v, attn_qkv and attn_kv_b: the "more sensitive" ones
    AttnOutput,
    FfnDown,
    Other,
}

fn category(name: &str) -> Category {
    if name == "output.weight" {
        Category::Output
    } else if name == "token_embd.weight" || name == "per_layer_token_embd.weight" {
        Category::TokenEmbd
    } else if ["attn_qkv.weight", "attn_kv_b.weight", "attn_v.weight"]
        .iter()
        .any(|p| name.contains(p))
    {
        Category::AttnV
    } else if name.contains("attn_k.weight") || name.contains("attn_q.weight") {
        Category::Other
    } else if name.contains("attn_output.weight") {
        Category::AttnOutput
    } else if name.contains("ffn_up") || name.contains("ffn_gate") {
        Category::Other
    } else if name.contains("ffn_down") {
        Category::FfnDown
    } else {
        Category::Other
    }
}

/// `ggml_n_dims`: dimensions up to the last one that is not 1.
fn n_dims(shape: &[u64]) -> usize {
    shape.iter().rposition(|&d| d != 1).map_or(1, |i| i + 1)
}

/// `tensor_allows_quantization`: 2-D+ weights, minus norms, gates of experts
/// and a list of small special tensors.
fn allows_quantization(t: &TensorInfo) -> bool {
    let name = t.name.as_str();
    const KEEP: [&str; 13] = [
        "_norm.weight",
        "ffn_gate_inp.weight",
        "ffn_gate_tid2eid.weight",
        "altup",
        "laurel",
        "per_layer_model_proj",
        "ssm_conv1d",
        "shortconv.conv.weight",
        "attn_rel_b.weight",
        ".position_embd",
        ".rel_pos",
        ".patch_embd",
        "time_mix_",
    ];
    n_dims(&t.shape) >= 2
        && name.ends_with("weight")
        && !KEEP.iter().any(|k| name.contains(k))
        && name != "position_embd.weight"
        && name != "token_types.weight"
}

// ANCHOR: use_more_bits
/// The layers that get more bits in the `_M` mixes: the first and last
/// eighth, and every third layer in between.
fn use_more_bits(i_layer: usize, n_layers: usize) -> bool {
    i_layer < n_layers / 8
        || i_layer >= 7 * n_layers / 8
        || (i_layer as i64 - (n_layers / 8) as i64).rem_euclid(3) == 2
}
// ANCHOR_END: use_more_bits

// ANCHOR: fallback
/// A K-quant needs rows of whole 256-blocks; otherwise llama.cpp falls back
/// to a 32-block type (`tensor_type_fallback`), and to F16 if even that
/// does not divide the row.
fn fallback(ty: GgmlType, row: u64) -> GgmlType {
    use GgmlType::*;
    if row.is_multiple_of(ty.block_size() as u64) {
        return ty;
    }
    let ty = match ty {
        Q2_K | Q3_K => Q4_0,
        Q4_K => Q5_0,
        Q5_K => Q5_1,
        Q6_K => Q8_0,
        other => other,
    };
    if row.is_multiple_of(ty.block_size() as u64) {
        ty
    } else {
        F16
    }
}
// ANCHOR_END: fallback

/// The type of every tensor (in the order of `tensors`) when quantizing to `mix`.
pub fn tensor_types(mix: QuantMix, tensors: &[TensorInfo], model: MixModel) -> Vec<GgmlType> {
    use GgmlType::*;
    use QuantMix as M;
    let tied = !tensors
        .iter()
        .any(|t| category(&t.name) == Category::Output);
    let n_attention_wv = tensors
        .iter()
        .filter(|t| category(&t.name) == Category::AttnV)
        .count();
    let (mut i_attention_wv, mut i_ffn_down) = (0, 0);
    let n_layer = model.n_layer;

    let mut types: Vec<GgmlType> = tensors.iter().map(|t| t.ggml_type).collect();
    for i in llama_order(tensors) {
        let t = &tensors[i];
        if !allows_quantization(t) {
            continue; // keeps its type
        }
        let default = mix.default_type();
        if default == F16 {
            types[i] = F16;
            continue;
        }
        let row = t.shape[0];
        let mut ty = default;
        // ANCHOR: mix_rules
        match category(&t.name) {
            Category::Output | Category::TokenEmbd
                if tied || category(&t.name) == Category::Output =>
            {
                if !row.is_multiple_of(ty.block_size() as u64) {
                    ty = Q8_0;
                } else if ty != Q8_0 {
                    ty = Q6_K;
                }
            }
            Category::AttnV => {
                let i = i_attention_wv;
                ty = match mix {
                    M::Q2_K if model.n_gqa >= 4 => Q4_K,
                    M::Q2_K => Q3_K,
                    M::Q3_K_M if i < 2 => Q5_K,
                    M::Q3_K_M => Q4_K,
                    M::Q3_K_L => Q5_K,
                    M::Q4_K_M | M::Q5_K_M if use_more_bits(i, n_attention_wv) => Q6_K,
                    M::Q4_K_S if i < 4 => Q5_K,
                    _ => ty,
                };
                i_attention_wv += 1;
            }
            Category::FfnDown => {
                let i = i_ffn_down;
                ty = match mix {
                    M::Q2_K => Q3_K,
                    M::Q3_K_M if i < n_layer / 16 => Q5_K,
                    M::Q3_K_M => Q4_K,
                    M::Q3_K_L => Q5_K,
                    M::Q4_K_M | M::Q5_K_M if use_more_bits(i, n_layer) => Q6_K,
                    M::Q4_K_S if i < n_layer / 8 => Q5_K,
                    _ => ty,
                };
                i_ffn_down += 1;
            }
            Category::AttnOutput => {
                ty = match mix {
                    M::Q2_K => Q3_K,
                    M::Q3_K_M => Q4_K,
                    M::Q3_K_L => Q5_K,
                    _ => ty,
                };
            }
            _ => {}
        }
        // ANCHOR_END: mix_rules
        types[i] = fallback(ty, row);
    }
    types
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_names_are_listed() {
        assert_eq!(QuantMix::from_name("q4_k_m"), Ok(QuantMix::Q4_K_M));
        let err = QuantMix::from_name("Q4_K_X").unwrap_err();
        assert!(
            err.to_string().contains("Q4_K_X") && err.to_string().contains("Q5_K_S"),
            "{err}"
        );
    }

    #[test]
    fn more_bits_for_the_ends_and_every_third_layer() {
        let layers: Vec<usize> = (0..30).filter(|&i| use_more_bits(i, 30)).collect();
        // n/8 = 3, 7n/8 = 26: 0..3, then 3 + 2 + 3k, then 26..30.
        assert_eq!(layers, [0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29]);
    }

    #[test]
    fn fallback_follows_llama_cpp_table() {
        use GgmlType::*;
        assert_eq!(fallback(Q4_K, 576), Q5_0);
        assert_eq!(fallback(Q5_K, 576), Q5_1);
        assert_eq!(fallback(Q6_K, 576), Q8_0);
        assert_eq!(fallback(Q2_K, 576), Q4_0);
        assert_eq!(fallback(Q4_K, 1536), Q4_K);
        assert_eq!(fallback(Q4_K, 100), F16);
    }
}
