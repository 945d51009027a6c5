//! The real Gemma 3 270M file (Q4_K_M, fetched by `locallm pull gemma3-270m`)
//! through this crate alone: its config and switches from metadata, and
//! greedy continuations of raw prompts equal to llama.cpp's on the same
//! weights dequantized to F32 (`scripts/golden_arch.sh --gemma`), with the
//! top-5 log-probabilities of each step close to llama.cpp's.

use std::path::PathBuf;

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use locallm_model::{Activation, Family, Llama, LlamaConfig, Switches, default_device, load_llama};
use locallm_quant::GgufFile;

mod common;
use common::Concat;

fn gemma() -> GgufFile {
    let path = locallm_models::ensure(&locallm_models::GEMMA3_270M_Q4_K_M).expect("gemma3-270m");
    GgufFile::open(path).unwrap()
}

#[test]
fn gemma3_config_and_switches_come_from_its_metadata() {
    let gguf = gemma();
    let c = LlamaConfig::from_metadata(&gguf.metadata).unwrap();
    assert_eq!(
        (
            c.n_layers,
            c.d_model,
            c.n_heads,
            c.n_kv_heads,
            c.head_dim,
            c.ffn_dim,
            c.vocab_size
        ),
        (18, 640, 4, 1, 256, 2048, 262_144)
    );
    let s = Switches::from_metadata(&gguf.metadata, &c).unwrap();
    assert_eq!(s.family, Family::Gemma3);
    assert_eq!(s.sliding_window, Some(512));
    // llama.cpp's default pattern: every 6th layer global (5, 11, 17)
    let global: Vec<usize> = (0..18).filter(|&l| !s.is_swa(l)).collect();
    assert_eq!(global, [5, 11, 17]);
    assert_eq!((c.rope_base, s.rope_base_swa), (1_000_000.0, 10_000.0));
    assert_eq!(s.embed_scale, Some(640f32.sqrt()));
}

/// One golden case decoded: our token ids, llama.cpp's, and the largest and
/// the mean difference between our log-probabilities and llama.cpp's top 5
/// at each step.
struct Case {
    prompt: String,
    ours: Vec<i64>,
    theirs: Vec<i64>,
    worst: f64,
    mean: f64,
}

/// Greedy decoding of every golden case with `model`.
fn greedy_cases(model: &Llama) -> Vec<Case> {
    let device = default_device().unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/generate/gemma3_270m_greedy_f32.json");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect()
    };
    let mut out = Vec::new();
    for case in golden["cases"].as_array().unwrap() {
        let mut cache = Concat::default();
        let (mut input, mut pos, mut ours) = (ids(&case["prompt_ids"]), 0, vec![]);
        let (mut worst, mut sum, mut count) = (0f64, 0f64, 0usize);
        for top in case["top"].as_array().unwrap() {
            let n = input.len();
            let x = Tensor::<2, Int>::from_data(TensorData::new(input.clone(), [1, n]), &device);
            let logits = model.forward_last(x, pos, &mut cache); // [1, vocab]
            let lp = log_softmax(logits, 1)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let next = (0..lp.len())
                .max_by(|&a, &b| lp[a].total_cmp(&lp[b]))
                .unwrap() as i64;
            for cand in top.as_array().unwrap() {
                let id = cand["id"].as_u64().unwrap() as usize;
                let diff = (lp[id] as f64 - cand["logprob"].as_f64().unwrap()).abs();
                (worst, sum, count) = (worst.max(diff), sum + diff, count + 1);
            }
            ours.push(next);
            pos += n;
            input = vec![next];
        }
        let mean = sum / count as f64;
        out.push(Case {
            prompt: case["prompt"].to_string(),
            ours,
            theirs: ids(&case["ids"]),
            worst,
            mean,
        });
    }
    out
}

/// How far our top-5 log-probabilities may sit from llama.cpp's. Two
/// causes, both in f32 arithmetic, neither in the model: llama.cpp's GELU
/// reads an f16 table where ours is exact (the second test takes that out),
/// and sums run in different orders over 18 layers and a 262k-token softmax
/// (llama.cpp's kernels against burn's matmul, whose `gemm` crate picks its
/// kernel, and so its order, by the host's vector units). On this repo's
/// Intel Xeon (AVX-512) the largest difference per prompt is 1.0e-2 with the
/// exact GELU and 4.4e-3 with the table, the mean 1.6e-3 and 1.1e-3; on the
/// CI host, with the table, one prompt's largest was 8.1e-3. The bounds
/// leave room for such hosts (about three times what was seen): the largest
/// may reach 3e-2, the mean 4e-3. The sharp check is the greedy tokens,
/// equal everywhere though the closest first-against-second gap in the
/// golden is 4.3e-3.
const LARGEST: f64 = 3e-2;
const MEAN: f64 = 4e-3;

/// Greedy tokens equal to llama.cpp's for every prompt, log-probabilities
/// within `largest` and [`MEAN`].
fn check(model: &Llama, largest: f64) {
    for Case {
        prompt,
        ours,
        theirs,
        worst,
        mean,
    } in greedy_cases(model)
    {
        eprintln!("{prompt}: log-probability difference: largest {worst:e}, mean {mean:e}");
        assert_eq!(ours, theirs, "{prompt}");
        assert!(
            worst < largest,
            "{prompt}: log-probabilities off by {worst}"
        );
        assert!(
            mean < MEAN,
            "{prompt}: log-probabilities off by {mean} on average"
        );
    }
}

/// The model as it runs (exact GELU): the same 32 greedy tokens as
/// llama.cpp for every prompt, log-probabilities within the bounds above.
#[test]
fn gemma3_greedy_continuations_equal_llamacpp_on_f32_weights() {
    check(
        &load_llama(&gemma(), &default_device().unwrap()).unwrap(),
        LARGEST,
    );
}

/// With llama.cpp's own f16-table GELU the same holds, and the largest
/// difference must come out below the exact GELU's bound by half: the
/// table is a cause of difference this test can name and remove.
#[test]
fn gemma3_with_llamacpp_gelu_matches_its_log_probabilities() {
    let mut model = load_llama(&gemma(), &default_device().unwrap()).unwrap();
    for b in &mut model.blocks {
        b.mlp.activation = Activation::GeluTanhF16Table;
    }
    check(&model, LARGEST / 2.0);
}
