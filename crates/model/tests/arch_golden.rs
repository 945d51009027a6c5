//! Every family against llama.cpp: a tiny random-weight model of each
//! architecture (written by gguf-py, see scripts/golden_arch.sh) and the
//! logits llama.cpp computes at every position of a fixed prompt. Ours must
//! agree within 2e-5 at every position: with every weight in f32, through the
//! whole-prompt pass and through a token-by-token pass with a KV cache; and
//! the quantized-blocks load path must agree with the dequantized one on a
//! Q8_0 copy of the same model.

use std::path::PathBuf;

use burn::tensor::{Int, Tensor, TensorData};
use locallm_model::{
    Activation, Device, Family, Llama, NoCache, default_device, load_llama, load_llama_quantized,
};
use locallm_quant::{GgufFile, Kernels, QuantMix, quantize_model};

mod common;
use common::Concat;

/// Both sides compute in f32 with the same weights; they differ in the order
/// of additions, in llama.cpp's RoPE angles (a running product of
/// `base^(-2/d)`, ours a `powf` per pair) and, for gemma3, in its GELU (a
/// table of f16 values on CPU). Measured 1.8e-6 to 2.7e-6 for llama, qwen2,
/// qwen3 and phi3; 2e-5 leaves room for another host's matmul order (burn's
/// gemm picks AVX2 or AVX-512 micro-kernels at run time) and a wrong switch
/// moves logits by 0.1 or more.
const TOL: f32 = 2e-5;

/// The block kernels against the same weights dequantized: both f32, in
/// different orders of addition over rows of up to 576 products.
const BLOCKS_TOL: f32 = 1e-4;

/// gemma3 with llama.cpp's f16 GELU table. The table rounds its input to f16
/// first, so a pre-activation one f32 ulp away from ours can land on the
/// neighbouring f16 and take the neighbouring entry: a step of one f16 ulp
/// (about 1e-3 near x = 1). Which elements sit on such an edge depends on the
/// host's sum order: measured 5.0e-5 on one Xeon, 2.3e-4 on the CI host.
/// 5e-4 bounds those flips and stays 4x below the exact GELU's 2.0e-3, so the
/// test still shows that the table is the only difference.
const GEMMA3_TABLE_TOL: f32 = 5e-4;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/arch")
}

struct Golden {
    gguf: GgufFile,
    prompt: Vec<i64>,
    logits: Vec<Vec<f32>>, // [seq][vocab]
}

fn golden(arch: &str) -> Golden {
    let text = std::fs::read_to_string(golden_dir().join(format!("{arch}.json"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let nums = |v: &serde_json::Value| -> Vec<f32> {
        let a = v.as_array().unwrap();
        a.iter().map(|x| x.as_f64().unwrap() as f32).collect()
    };
    Golden {
        gguf: GgufFile::open(golden_dir().join(format!("{arch}.gguf"))).unwrap(),
        prompt: nums(&json["prompt_ids"])
            .iter()
            .map(|&x| x as i64)
            .collect(),
        logits: json["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(nums)
            .collect(),
    }
}

fn tokens(ids: &[i64], device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(ids.to_vec(), [1, ids.len()]), device)
}

/// `[seq][vocab]` logits of the whole prompt in one pass.
fn prompt_logits(model: &Llama, ids: &[i64], device: &Device) -> Vec<Vec<f32>> {
    let vocab = model.config.vocab_size;
    let out = model.forward(tokens(ids, device), 0, &mut NoCache);
    let flat = out.into_data().try_to_vec::<f32>().unwrap();
    flat.chunks(vocab).map(<[f32]>::to_vec).collect()
}

/// The largest |ours − theirs| over every position and token.
fn max_diff(ours: &[Vec<f32>], theirs: &[Vec<f32>]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    let pairs = ours.iter().zip(theirs).flat_map(|(a, b)| {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs())
    });
    pairs.fold(0.0, f32::max)
}

fn check(arch: &str) {
    check_with(arch, |_| {}, TOL);
}

/// `check`, after `adjust` has changed the loaded model, within `tol`.
fn check_with(arch: &str, adjust: impl FnOnce(&mut Llama), tol: f32) {
    let device = default_device().unwrap();
    let g = golden(arch);
    assert_eq!(Family::of(&g.gguf.metadata).unwrap().name(), arch);
    let mut model = load_llama(&g.gguf, &device).unwrap();
    adjust(&mut model);

    let whole = prompt_logits(&model, &g.prompt, &device);
    let d = max_diff(&whole, &g.logits);
    assert!(
        d < tol,
        "{arch}: whole prompt differs from llama.cpp by {d}"
    );

    // token by token through a KV cache: one query at a time, past the
    // window of a sliding-window layer
    let mut cache = Concat::default();
    let stepped: Vec<Vec<f32>> = (0..g.prompt.len())
        .map(|i| {
            let out = model.forward(tokens(&g.prompt[i..=i], &device), i, &mut cache);
            out.into_data().try_to_vec::<f32>().unwrap()
        })
        .collect();
    let d = max_diff(&stepped, &g.logits);
    assert!(
        d < tol,
        "{arch}: cached decoding differs from llama.cpp by {d}"
    );

    // the fast path's fused attention (one pass per query over the keys it
    // sees, the window included) on the same weights and the whole prompt
    for b in &mut model.blocks {
        b.attn.fused = Some(Kernels::default());
    }
    let d = max_diff(&prompt_logits(&model, &g.prompt, &device), &g.logits);
    assert!(
        d < tol,
        "{arch}: fused attention differs from llama.cpp by {d}"
    );
}

/// A Q8_0 copy of the tiny model: the block kernels (≤ 8 rows go through
/// them, see `quantized::MAX_KERNEL_ROWS`) against the same blocks
/// dequantized, on the first 8 positions. Both compute in f32 and differ
/// only in the order of additions.
fn check_blocks(arch: &str) {
    let device = default_device().unwrap();
    let g = golden(arch);
    let dir = std::env::temp_dir().join(format!("locallm-arch-{}-{arch}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let q8 = dir.join("q8_0.gguf");
    quantize_model(&g.gguf, &q8, QuantMix::Q8_0, |_, _, _| {}).unwrap();
    let file = std::sync::Arc::new(GgufFile::open(&q8).unwrap());
    let plain = load_llama(&file, &device).unwrap();
    let blocks = load_llama_quantized(&file, &device, Kernels::default()).unwrap();
    assert_eq!(blocks.weight_storage().to_string(), "blocks", "{arch}");
    let ids = &g.prompt[..8];
    let d = max_diff(
        &prompt_logits(&blocks, ids, &device),
        &prompt_logits(&plain, ids, &device),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        d < BLOCKS_TOL,
        "{arch}: blocks and dequantized weights differ by {d}"
    );
}

#[test]
fn llama_with_llama3_rope_factors_matches_llamacpp() {
    check("llama");
}

#[test]
fn qwen2_with_qkv_biases_and_linear_rope_matches_llamacpp() {
    check("qwen2");
}

#[test]
fn qwen3_with_qk_norms_matches_llamacpp() {
    check("qwen3");
}

/// With llama.cpp's own GELU (f16 table, see `mlp::gelu_tanh_f16_table`),
/// gemma3 comes within a few f16 steps of llama.cpp (`GEMMA3_TABLE_TOL`).
#[test]
fn gemma3_with_sliding_window_matches_llamacpp() {
    let table = |m: &mut Llama| {
        for b in &mut m.blocks {
            assert_eq!(b.mlp.activation, Activation::GeluTanh);
            b.mlp.activation = Activation::GeluTanhF16Table;
        }
    };
    check_with("gemma3", table, GEMMA3_TABLE_TOL);
}

/// With the exact GELU the model runs by default, the difference is the f16
/// rounding of llama.cpp's table alone (measured 2.0e-3 on this model; the
/// test above shows that nothing else differs).
#[test]
fn gemma3_exact_gelu_is_within_the_f16_table_error_of_llamacpp() {
    check_with("gemma3", |_| {}, 4e-3);
}

#[test]
fn phi3_with_fused_matrices_matches_llamacpp() {
    check("phi3");
}

#[test]
fn quantized_blocks_agree_with_dequantized_weights_for_every_family() {
    for f in Family::ALL {
        check_blocks(f.name());
    }
}
