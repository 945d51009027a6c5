//! Training from scratch, and the toys of chapters 1–3, on tiny sizes.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_model::{Llama, NoCache, load_llama};
use locallm_quant::GgufFile;
use locallm_train::toys::{
    Points, accuracy, fit_line, grad_of, load_mlp, save_mlp, smollm2_135m, train_classifier,
    train_flops,
};
use locallm_train::{
    Checkpoints, TokenSplit, TrainConfig, Trained, export_gguf, init_model, next_token_loss,
    train_lm, trainable_params,
};

fn device() -> Device {
    Device::flex()
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// f(x) = Σ x³ + sin(x)·x, whose gradient is 3x² + cos(x)·x + sin(x).
#[test]
fn autodiff_gradient_equals_the_analytic_one() {
    let x = [-1.5f32, -0.3, 0.0, 0.7, 2.0];
    let f = |t: Tensor<1>| (t.clone().powi_scalar(3) + t.clone().sin() * t).sum();
    let got = grad_of(&x, f, &device());
    for (g, &x) in got.iter().zip(&x) {
        let want = 3.0 * x * x + x.cos() * x + x.sin();
        assert!(
            (g - want).abs() < 1e-5,
            "at {x}: autodiff {g}, analytic {want}"
        );
    }
}

#[test]
fn gradient_descent_fits_a_line() {
    let xs: Vec<f32> = (0..20).map(|i| i as f32 / 10.0 - 1.0).collect();
    let ys: Vec<f32> = xs.iter().map(|x| 2.0 * x + 1.0).collect();
    let (w, b, losses) = fit_line(&xs, &ys, 0.3, 200, &device());
    assert!(
        (w - 2.0).abs() < 1e-3 && (b - 1.0).abs() < 1e-3,
        "w {w}, b {b}"
    );
    // the first loss, at w = b = 0, is the mean of y²
    let mean_sq = ys.iter().map(|y| y * y).sum::<f32>() / ys.len() as f32;
    assert!((losses[0] - mean_sq).abs() < 1e-5);
    assert!(losses.windows(2).all(|p| p[1] <= p[0]), "loss went up");
}

#[test]
fn mlp_learns_the_circle_and_survives_safetensors() {
    let d = device();
    let train = Points::circle(300, 3);
    let (mlp, losses) = train_classifier(&train, 32, 400, 1e-2, 3, &d);
    assert!(losses[losses.len() - 1] < losses[0] / 3.0);
    let acc = accuracy(&mlp, &Points::circle(1000, 4), &d);
    assert!(acc > 0.9, "held-out accuracy {acc}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlp.safetensors");
    save_mlp(&mlp, &path).unwrap();
    let loaded = load_mlp(&path, &d).unwrap();
    let x = Tensor::<2>::from_data(TensorData::new(train.x.clone(), [300, 2]), &d);
    assert_eq!(to_vec(mlp.forward(x.clone())), to_vec(loaded.forward(x)));

    // a file that is not a model is an error, not a panic
    std::fs::write(&path, b"not safetensors").unwrap();
    assert!(load_mlp(&path, &d).is_err());
}

#[test]
fn parameter_count_behind_the_flop_formula() {
    let cfg = TrainConfig::from_toml(TINY).unwrap().llama();
    let model = init_model(&cfg, 0, &device().autodiff());
    let counted: usize = trainable_params(&model).values().map(|t| t.dims()[0]).sum();
    // n_params counts a tied output layer once; a from-scratch model has its own
    assert_eq!(counted, cfg.n_params() + cfg.vocab_size * cfg.d_model);
    let n = smollm2_135m().n_params();
    assert!((134_000_000..136_000_000).contains(&n), "{n}");
    assert_eq!(train_flops(10, 7), 420.0);
}

const TINY: &str = "layers = 2\nd_model = 32\nheads = 4\nkv_heads = 2\nffn = 64\nctx = 16\n\
                    vocab = 300\nsteps = 12\nlr = 1e-2\nbatch = 4\nseed = 5\nwarmup = 2\n\
                    eval_every = 4\ncheckpoint_every = 4\neval_windows = 4\n";

/// A token stream with structure to learn: counting up, modulo the vocabulary.
fn tokens() -> TokenSplit {
    let stream: Vec<u32> = (0..600u32).map(|i| (i * 7 + i / 13) % 300).collect();
    TokenSplit::new(&stream, 0.1, 16).unwrap()
}

fn run(cfg: &TrainConfig, ckpt: Option<Checkpoints>, stop_after: Option<usize>) -> Trained {
    let d = device();
    let model = init_model(&cfg.llama(), cfg.seed, &d.clone().autodiff());
    let ad = d.clone().autodiff();
    train_lm(
        model,
        &tokens(),
        cfg,
        &d,
        serde_json::json!({"test": 1}),
        ckpt,
        |m, w| next_token_loss(m, w, &ad),
        |s| stop_after != Some(s.step),
    )
    .unwrap()
}

fn logits(model: &Llama) -> Vec<f32> {
    let ids: Vec<i64> = (0..10).collect();
    let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, 10]), &device());
    to_vec(model.forward(input, 0, &mut NoCache))
}

#[test]
fn training_is_seeded_resumable_and_exports_to_gguf() {
    let cfg = TrainConfig::from_toml(TINY).unwrap();
    let whole = run(&cfg, None, None);
    assert!(whole.losses[11] < whole.losses[0], "{:?}", whole.losses);
    assert_eq!(whole.eval_losses.len(), 3); // steps 4, 8, 12

    // same seed, same numbers
    let again = run(&cfg, None, None);
    assert_eq!(whole.losses, again.losses);

    // killed after step 6 (checkpoint at 4), resumed: the same run
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.safetensors");
    let ck = |resume| {
        Some(Checkpoints {
            path: &path,
            resume,
        })
    };
    let first = run(&cfg, ck(false), Some(6));
    assert_eq!(first.losses.len(), 6);
    let resumed = run(&cfg, ck(true), None);
    assert_eq!(resumed.resumed_from, Some(4));
    assert_eq!(resumed.losses, whole.losses);
    assert_eq!(resumed.eval_losses, whole.eval_losses);
    let (a, b) = (logits(&whole.model.valid()), logits(&resumed.model.valid()));
    assert_eq!(a, b);

    // another seed is another run: its checkpoint is not resumed
    let other = TrainConfig {
        seed: 6,
        ..cfg.clone()
    };
    let d = device();
    let m = init_model(&other.llama(), 6, &d.clone().autodiff());
    let ad = d.clone().autodiff();
    let refused = train_lm(
        m,
        &tokens(),
        &other,
        &d,
        serde_json::json!({"test": 2}),
        ck(true),
        |m, w| next_token_loss(m, w, &ad),
        |_| true,
    );
    assert!(refused.unwrap_err().to_string().contains("different run"));

    // GGUF round trip: the loaded model computes the same logits
    let bpe = locallm_tokenizer::train_bpe(
        &"a small text, a small text. ".repeat(30),
        300,
        "gpt-2",
        &["<|endoftext|>"],
    )
    .unwrap();
    let gguf_path = dir.path().join("model.gguf");
    export_gguf(
        &whole.model.valid(),
        "tiny",
        &bpe.gguf_metadata(),
        &gguf_path,
    )
    .unwrap();
    let gguf = GgufFile::open(&gguf_path).unwrap();
    let loaded = load_llama(&gguf, &device()).unwrap();
    assert_eq!(loaded.config, cfg.llama());
    assert_eq!(logits(&loaded), a);
    assert!(locallm_tokenizer::Tokenizer::from_metadata(&gguf.metadata).is_ok());
}

/// SIGKILL a process that is saving checkpoints over `dest` again and again,
/// at random moments: `dest` always loads as a whole checkpoint, the old one
/// or a new one. (LoRA adapters and loss curves use the same `write_atomic`.)
/// The test runs itself as the writer, with `KILL_TEST_DEST` set.
#[test]
fn sigkill_while_saving_a_checkpoint_leaves_old_or_new() {
    use locallm_train::{Checkpoint, load_checkpoint, save_checkpoint};
    use std::path::Path;
    const N: usize = 1 << 20; // 4 MiB: long enough to be killed mid-write
    let save = |dest: &Path, step: u64| {
        let tensors = [("w".to_string(), (vec![N], vec![step as f32; N]))].into();
        let state = serde_json::json!({ "step": step });
        save_checkpoint(dest, &Checkpoint { tensors, state }).unwrap();
    };
    if let Some(dest) = std::env::var_os("KILL_TEST_DEST") {
        for step in 1.. {
            save(Path::new(&dest), step);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("checkpoint.safetensors");
    save(&dest, 0);
    for trial in 0..6 {
        locallm_tests::kill_inside_a_write(
            "sigkill_while_saving_a_checkpoint_leaves_old_or_new",
            [("KILL_TEST_DEST", &dest)],
            dir.path(),
            trial,
            150,
        );
        let ckpt = load_checkpoint(&dest).expect("a whole checkpoint");
        let step = ckpt.state["step"].as_u64().unwrap() as f32;
        let (shape, values) = &ckpt.tensors["w"];
        assert_eq!(shape, &[N]);
        assert!(values.iter().all(|&v| v == step), "torn checkpoint");
    }
    // the kills landed mid-write: they left temporary files behind (each
    // kill waits for one; only a parent descheduled between seeing the file
    // and the kill can miss, so one of six is required, not all)
    let temps = std::fs::read_dir(dir.path()).unwrap().count() - 1;
    assert!(temps > 0, "no kill interrupted a write");
}
