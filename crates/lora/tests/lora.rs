//! LoRA on a tiny random-init Llama: the properties that make it LoRA.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_lora::attach::{count_trainable_for, proj};
use locallm_lora::finetune::{Checkpoints, FinetuneConfig, StepInfo};
use locallm_lora::{
    Example, LoraConfig, Target, adapters, attach, count_trainable, finetune, load_adapter, merge,
    quantize_base, save_adapter,
};
use locallm_model::{Llama, LlamaConfig, NoCache};
use locallm_train::checkpoint::read_safetensors;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn device() -> Device {
    Device::flex()
}

/// Every matrix of a random model drawn from our own seeded generator (burn's
/// global RNG is shared by tests running in parallel threads).
struct Reseed(StdRng);
impl ModuleMapper for Reseed {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if D != 2 {
            return param; // norms stay at 1
        }
        let dims = param.val().dims();
        let n = dims.iter().product::<usize>();
        let v: Vec<f32> = (0..n).map(|_| self.0.random_range(-0.3..0.3)).collect();
        param.map(|t| Tensor::from_data(TensorData::new(v, dims), &t.device()))
    }
}

fn tiny(seed: u64) -> Llama {
    Llama::init(&LlamaConfig::tiny(), &device()).map(&mut Reseed(StdRng::seed_from_u64(seed)))
}

fn logits(model: &Llama, tokens: &[u32]) -> Vec<f32> {
    let ids: Vec<i64> = tokens.iter().map(|&t| t as i64).collect();
    let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, tokens.len()]), &device());
    let out = model.valid().forward(input, 0, &mut NoCache);
    out.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
}

const PROMPT: [u32; 10] = [1, 5, 9, 2, 33, 17, 8, 60, 41, 3];

/// Small "conversations": a prompt of 6 tokens, an answer of 5 that depends on it.
fn examples(n: usize, seed: u32) -> Vec<Example> {
    (0..n as u32)
        .map(|i| {
            let prompt: Vec<u32> = (0..6).map(|j| (i * 7 + j * 3 + seed) % 64).collect();
            let answer: Vec<u32> = prompt.iter().rev().take(5).map(|t| (t + 1) % 64).collect();
            let tokens = [prompt.clone(), answer].concat();
            let learn = (0..tokens.len()).map(|k| k >= prompt.len()).collect();
            Example {
                line: i as usize + 1,
                tokens,
                learn,
            }
        })
        .collect()
}

fn config(steps: usize) -> FinetuneConfig {
    FinetuneConfig {
        lora: LoraConfig {
            rank: 4,
            alpha: 8.0,
            rslora: false,
            targets: Target::ALL.to_vec(),
        },
        steps,
        batch: 4,
        lr: 1e-2,
        warmup: 2,
        checkpoint_every: 3,
        eval_every: 0,
        ..FinetuneConfig::default()
    }
}

/// Every float parameter that is not part of an adapter, by visit order.
struct BaseWeights(Vec<Vec<f32>>);
impl ModuleVisitor for BaseWeights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        if !t.is_require_grad() {
            let v = t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
            self.0.push(v);
        }
    }
}
fn base_weights(model: &Llama) -> Vec<Vec<f32>> {
    let mut v = BaseWeights(Vec::new());
    model.visit(&mut v);
    v.0
}

#[test]
fn zero_b_starts_exactly_at_the_base_model() {
    let base = tiny(1);
    let before = logits(&base, &PROMPT);
    let model = attach(base, &LoraConfig::default(), &device().autodiff(), 7).unwrap();
    assert_eq!(adapters(&model).len(), 2 * 7);
    // B = 0 but A is not: the adapter path runs and adds exact zeros
    let a = adapters(&model)[0].2.a.val();
    assert!(a.abs().sum().into_scalar::<f32>() > 0.0);
    assert!(
        logits(&model, &PROMPT) == before,
        "attaching changed the logits"
    );
}

#[test]
fn trainable_count_matches_the_formula() {
    let cfg = LlamaConfig::tiny();
    for targets in [vec![Target::Q, Target::V], Target::ALL.to_vec()] {
        let lora = LoraConfig {
            rank: 3,
            targets,
            ..LoraConfig::default()
        };
        let model = attach(tiny(2), &lora, &device(), 0).unwrap();
        assert_eq!(count_trainable(&model), count_trainable_for(&cfg, &lora));
    }
    // q and v of 2 layers at rank 3: q is 32→32, v is 32→16
    let lora = LoraConfig {
        rank: 3,
        targets: vec![Target::Q, Target::V],
        ..LoraConfig::default()
    };
    assert_eq!(count_trainable_for(&cfg, &lora), 2 * (3 * 64 + 3 * 48));
}

#[test]
fn training_changes_only_the_adapters_and_lowers_the_loss() {
    let base = tiny(3);
    let frozen_before = base_weights(&base);
    let data = examples(8, 0);
    let out = finetune(base, &data, &data, &config(30), &device(), None, |_| true).unwrap();
    // the base is bit-identical; the adapters moved
    assert!(
        base_weights(&out.model) == frozen_before,
        "a base weight changed"
    );
    for (_, _, a) in adapters(&out.model) {
        assert!(a.b.val().abs().sum().into_scalar::<f32>() > 0.0);
    }
    let first = out.losses[0];
    let last = *out.losses.last().unwrap();
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    let (_, eval) = *out.eval_losses.last().unwrap();
    assert!((eval - last).abs() < 0.5 * first, "held-out loss {eval}");
}

#[test]
fn merged_weights_give_the_same_logits_as_the_adapter() {
    let data = examples(8, 5);
    let out = finetune(tiny(4), &data, &[], &config(10), &device(), None, |_| true).unwrap();
    let unmerged = logits(&out.model, &PROMPT);
    let merged_model = merge(out.model);
    assert!(adapters(&merged_model).is_empty());
    let merged = logits(&merged_model, &PROMPT);
    let base = logits(&tiny(4), &PROMPT);
    let max_diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    };
    assert!(max_diff(&merged, &unmerged) < 1e-4);
    // and the adapter did change the model, so the comparison means something
    assert!(max_diff(&base, &unmerged) > 1e-2);
}

#[test]
fn resumed_run_matches_the_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = examples(8, 9);
    let cfg = config(9);

    let full_ckpt = dir.path().join("full.safetensors");
    let full = finetune(
        tiny(5),
        &data,
        &[],
        &cfg,
        &device(),
        Some(Checkpoints {
            path: &full_ckpt,
            resume: false,
        }),
        |_| true,
    )
    .unwrap();

    // "killed" after step 5: the last checkpoint is the one of step 3
    let ckpt = dir.path().join("run.safetensors");
    let killed = |s: &StepInfo| s.step < 5;
    let first = finetune(
        tiny(5),
        &data,
        &[],
        &cfg,
        &device(),
        Some(Checkpoints {
            path: &ckpt,
            resume: false,
        }),
        killed,
    )
    .unwrap();
    assert_eq!(first.losses.len(), 5);
    let resumed = finetune(
        tiny(5),
        &data,
        &[],
        &cfg,
        &device(),
        Some(Checkpoints {
            path: &ckpt,
            resume: true,
        }),
        |_| true,
    )
    .unwrap();
    assert_eq!(resumed.resumed_from, Some(3));
    assert_eq!(resumed.losses, full.losses);
    let values = |m: &Llama| -> Vec<Vec<f32>> {
        adapters(m)
            .iter()
            .flat_map(|(_, _, a)| [a.a.val(), a.b.val()])
            .map(|t| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap())
            .collect()
    };
    assert!(
        values(&resumed.model) == values(&full.model),
        "adapters differ"
    );

    // a checkpoint from another configuration is refused, not silently mixed
    let other = FinetuneConfig {
        seed: 99,
        ..cfg.clone()
    };
    let err = finetune(
        tiny(5),
        &data,
        &[],
        &other,
        &device(),
        Some(Checkpoints {
            path: &ckpt,
            resume: true,
        }),
        |_| true,
    );
    assert!(err.is_err());
}

#[test]
fn peft_files_round_trip_with_peft_names_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let data = examples(8, 2);
    let lora = LoraConfig {
        rank: 4,
        alpha: 8.0,
        rslora: false,
        targets: vec![Target::Q, Target::V, Target::Down],
    };
    let cfg = FinetuneConfig {
        lora: lora.clone(),
        ..config(6)
    };
    let trained = finetune(tiny(6), &data, &[], &cfg, &device(), None, |_| true)
        .unwrap()
        .model;
    save_adapter(&trained, &lora, "tiny", dir.path()).unwrap();

    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("adapter_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["peft_type"], "LORA");
    assert_eq!(json["r"], 4);
    assert_eq!(json["lora_alpha"], 8.0);
    assert_eq!(
        json["target_modules"],
        serde_json::json!(["q_proj", "v_proj", "down_proj"])
    );

    let (tensors, _) = read_safetensors(&dir.path().join("adapter_model.safetensors")).unwrap();
    assert_eq!(tensors.len(), 2 * 3 * 2);
    let name =
        |l: usize, m: &str, w: &str| format!("base_model.model.model.layers.{l}.{m}.{w}.weight");
    let (d, kv, ffn) = (32, 16, 64);
    assert_eq!(
        tensors[&name(1, "self_attn.v_proj", "lora_A")].0,
        vec![4, d]
    );
    assert_eq!(
        tensors[&name(1, "self_attn.v_proj", "lora_B")].0,
        vec![kv, 4]
    );
    assert_eq!(tensors[&name(0, "mlp.down_proj", "lora_A")].0, vec![4, ffn]);
    assert_eq!(tensors[&name(0, "mlp.down_proj", "lora_B")].0, vec![d, 4]);

    // PEFT's convention computed by hand from the file: ΔWᵀ = s·Bᵀ... i.e. for
    // PyTorch's W [out, in], ΔW = s · lora_B · lora_A. Compare with our merge.
    let (a_shape, a) = &tensors[&name(1, "self_attn.v_proj", "lora_A")];
    let (_, b) = &tensors[&name(1, "self_attn.v_proj", "lora_B")];
    let (r, d_in, d_out) = (a_shape[0], a_shape[1], kv);
    let mut delta_rows = vec![0.0f32; d_out * d_in]; // [out, in]
    for o in 0..d_out {
        for i in 0..d_in {
            delta_rows[o * d_in + i] =
                2.0 * (0..r).map(|k| b[o * r + k] * a[k * d_in + i]).sum::<f32>();
        }
    }
    let w0 = proj(&tiny(6).blocks[1], Target::V).base_weight();
    let merged = merge(trained);
    let w1 = proj(&merged.blocks[1], Target::V).base_weight();
    let ours = (w1 - w0)
        .transpose()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap();
    for (x, y) in ours.iter().zip(&delta_rows) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}");
    }

    // loading back gives the same model
    let (loaded, loaded_cfg) = load_adapter(tiny(6), dir.path(), &device()).unwrap();
    assert_eq!(loaded_cfg, lora);
    let reloaded = logits(&loaded, &PROMPT);
    let expected = logits(&merged, &PROMPT);
    for (x, y) in reloaded.iter().zip(&expected) {
        assert!((x - y).abs() < 1e-4);
    }

    // an adapter for another model shape is refused with a reason
    let mut wide = LlamaConfig::tiny();
    wide.d_model = 64;
    wide.head_dim = 16;
    let other = Llama::init(&wide, &device());
    let err = load_adapter(other, dir.path(), &device())
        .unwrap_err()
        .to_string();
    assert!(err.contains("shape"), "{err}");
}

#[test]
fn qlora_keeps_the_base_in_nf4_and_trains_only_adapters() {
    let dense = tiny(7);
    let dense_bytes = locallm_lora::base_bytes(&dense);
    let dense_logits = logits(&dense, &PROMPT);
    let q = quantize_base(dense);
    // the block matrices shrink to ~4.13 bits per weight
    let cfg = LlamaConfig::tiny();
    let matrices =
        cfg.n_params() - 2 * cfg.vocab_size * cfg.d_model - cfg.d_model * (2 * cfg.n_layers + 1);
    assert!(dense_bytes - locallm_lora::base_bytes(&q) > matrices * 3);
    // the NF4 model computes with exactly the dequantized weights, which
    // differ from the dense ones
    let q_logits = logits(&q, &PROMPT);
    let mut dq = quantize_base(tiny(7));
    for block in dq.blocks.iter_mut() {
        for t in Target::ALL {
            let p = locallm_lora::attach::proj_mut(block, t);
            let weight = Param::from_tensor(p.base_weight());
            *p = locallm_model::Proj::dense(burn::nn::Linear { weight, bias: None });
        }
    }
    let dq_logits = logits(&dq, &PROMPT);
    let max_diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    };
    assert!(max_diff(&q_logits, &dq_logits) < 1e-4);
    assert!(max_diff(&q_logits, &dense_logits) > 1e-3);

    let data = examples(8, 4);
    let cfg = FinetuneConfig {
        qlora: true,
        ..config(20)
    };
    let codes = |m: &Llama| -> BTreeMap<(usize, Target), Vec<u8>> {
        let mut out = BTreeMap::new();
        for (l, b) in m.blocks.iter().enumerate() {
            for t in Target::ALL {
                if let locallm_model::Base::Nf4(w) = &proj(b, t).base {
                    out.insert((l, t), w.packed.codes.clone());
                }
            }
        }
        out
    };
    let before = codes(&q);
    let out = finetune(tiny(7), &data, &[], &cfg, &device(), None, |_| true).unwrap();
    assert!(codes(&out.model) == before, "NF4 codes changed");
    assert_eq!(before.len(), 2 * 7);
    assert!(out.losses.last().unwrap() < &(0.5 * out.losses[0]));
}

/// SIGKILL a process that saves adapters over `dest` again and again, each
/// with its own config (alpha = 1 + seed) and random factors (from seed):
/// what is left either loads as one whole save, config and weights from the
/// same call, or is refused as torn. Never a new config over old weights.
/// The test runs itself as the writer, with `KILL_TEST_DEST` set.
#[test]
fn sigkill_while_saving_an_adapter_never_loads_a_mix() {
    use std::path::Path;
    let lora = |seed: u64| LoraConfig {
        rank: 4,
        alpha: 1.0 + seed as f32,
        rslora: false,
        targets: vec![Target::Q, Target::V, Target::Up, Target::Down],
    };
    let save = |dest: &Path, seed: u64| {
        let model = attach(tiny(0), &lora(seed), &device(), seed).unwrap();
        save_adapter(&model, &lora(seed), "tiny", dest).unwrap();
    };
    let factors = |model: &Llama| -> Vec<Vec<f32>> {
        adapters(model)
            .into_iter()
            .map(|(_, _, a)| a.a.val().into_data().try_to_vec::<f32>().unwrap())
            .collect()
    };
    if let Some(dest) = std::env::var_os("KILL_TEST_DEST") {
        for seed in 1.. {
            save(Path::new(&dest), seed);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("adapter");
    save(&dest, 0);
    let (mut loaded, mut refused) = (0, 0);
    for trial in 0..8 {
        locallm_tests::kill_inside_a_write(
            "sigkill_while_saving_an_adapter_never_loads_a_mix",
            [("KILL_TEST_DEST", &dest)],
            &dest,
            trial,
            300,
        );
        match load_adapter(tiny(0), &dest, &device()) {
            Ok((model, config)) => {
                let seed = (config.alpha - 1.0) as u64;
                let whole = attach(tiny(0), &lora(seed), &device(), seed).unwrap();
                assert_eq!(factors(&model), factors(&whole), "seed {seed}: a mix");
                loaded += 1;
            }
            Err(e) => {
                assert!(e.to_string().contains("another adapter_config.json"), "{e}");
                refused += 1;
                save(&dest, 0); // the user's fix: save again
            }
        }
    }
    eprintln!("{loaded} whole saves loaded, {refused} torn ones refused");
}
