//! The real model, pruned, saved as GGUF, loaded back: same weights, same
//! logits, and it generates.

use std::path::PathBuf;

use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_model::{Llama, NoCache, load_llama};
use locallm_prune::matrices::Matrix;
use locallm_prune::{Pattern, PruneSpec, Score, Target, calibration_batch, prune, save_pruned};
use locallm_quant::{GgmlType, GgufFile};
use locallm_tokenizer::Tokenizer;

struct Fixture {
    gguf: GgufFile,
    tokenizer: Tokenizer,
    model: Llama,
    device: Device,
}

fn fixture() -> Fixture {
    let gguf = GgufFile::open(locallm_models::default_model().unwrap()).unwrap();
    let tokenizer = Tokenizer::from_metadata(&gguf.metadata).unwrap();
    let device = locallm_model::default_device().unwrap();
    let model = load_llama(&gguf, &device).unwrap();
    Fixture {
        gguf,
        tokenizer,
        model,
        device,
    }
}

/// A little calibration text: 2 sequences of 64 tokens.
fn calib(f: &Fixture) -> Tensor<2, Int> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/texts/gpl-3.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let tokens = f.tokenizer.encode(&text, false).unwrap();
    calibration_batch(&tokens, 128, 64, &f.device).unwrap()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// Prunes, saves, reloads; checks the reloaded model computes what the
/// in-memory one does and that it generates. Returns the saved file.
fn round_trip(f: &mut Fixture, spec: PruneSpec, dir: &tempfile::TempDir) -> (GgufFile, Llama) {
    let calib = Some(calib(f));
    prune(&mut f.model, &spec, calib, |_, _| {}).unwrap();
    let out = dir.path().join("pruned.gguf");
    save_pruned(&f.gguf, &f.model, &spec.to_string(), &out).unwrap();
    let saved = GgufFile::open(&out).unwrap();
    let reloaded = load_llama(&saved, &f.device).unwrap();
    assert_eq!(reloaded.config, f.model.config);

    let prompt = f
        .tokenizer
        .encode("The GNU General Public License is", false)
        .unwrap();
    let ids: Vec<i64> = prompt.iter().map(|&t| t as i64).collect();
    let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, prompt.len()]), &f.device);
    let a = values(f.model.forward_last(input.clone(), 0, &mut NoCache));
    let b = values(reloaded.forward_last(input, 0, &mut NoCache));
    assert_eq!(a, b, "the saved model computes other logits");
    let generated = locallm_infer::generate_greedy_uncached(&reloaded, &prompt, 6, &f.device);
    let text = f.tokenizer.decode(&generated).unwrap();
    assert_eq!(generated.len(), 6);
    assert!(
        !text.trim().is_empty(),
        "generated only whitespace: {text:?}"
    );
    eprintln!("{spec}: ...{text}");
    (saved, reloaded)
}

#[test]
fn wanda_2_4_model_saves_loads_and_generates() {
    let mut f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let spec = PruneSpec {
        score: Score::Wanda,
        target: Target::Unstructured(Pattern::NM { n: 2, m: 4 }),
    };
    let (saved, reloaded) = round_trip(&mut f, spec, &dir);

    // pruned matrices are F32 with the 2:4 pattern; the rest is copied as it was
    for layer in [0, 29] {
        for m in Matrix::ALL {
            let name = m.tensor_name(layer);
            assert_eq!(saved.tensor(&name).unwrap().ggml_type, GgmlType::F32);
            for group in values(m.rows(&reloaded.blocks[layer])).chunks(4) {
                assert!(group.iter().filter(|&&x| x != 0.0).count() <= 2, "{name}");
            }
        }
    }
    for name in [
        "token_embd.weight",
        "blk.0.attn_norm.weight",
        "output_norm.weight",
    ] {
        let (a, b) = (f.gguf.tensor(name).unwrap(), saved.tensor(name).unwrap());
        assert_eq!(a.ggml_type, b.ggml_type);
        assert_eq!(f.gguf.tensor_data(a), saved.tensor_data(b), "{name}");
    }
    assert_eq!(
        saved.metadata.get_str("locallm.prune.method"),
        Some("wanda 2:4")
    );
    assert_eq!(
        saved.metadata.get("tokenizer.ggml.tokens"),
        f.gguf.metadata.get("tokenizer.ggml.tokens")
    );
}

#[test]
fn structured_model_is_smaller_and_says_so() {
    let mut f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let spec = PruneSpec {
        score: Score::Wanda,
        target: Target::Structured(0.25),
    };
    let (saved, _) = round_trip(&mut f, spec, &dir);
    // 25% of 3 KV groups rounds to 1 (of 9 query heads, 3 go); 25% of 1536 channels is 384
    let get = |k: &str| saved.metadata.get_u64(k);
    assert_eq!(get("llama.attention.head_count"), Some(6));
    assert_eq!(get("llama.attention.head_count_kv"), Some(2));
    assert_eq!(get("llama.attention.key_length"), Some(64));
    assert_eq!(get("llama.feed_forward_length"), Some(1152));
    assert_eq!(
        saved.tensor("blk.3.attn_q.weight").unwrap().shape,
        [576, 384]
    );
    assert_eq!(
        saved.tensor("blk.3.ffn_down.weight").unwrap().shape,
        [1152, 576]
    );
    assert!(saved.n_params() < f.gguf.n_params());
}
