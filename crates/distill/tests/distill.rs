//! The KD loss against its definition, and a tiny distillation run.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_distill::{KdConfig, distill_batch_loss, kd_loss_sum, kl_to_teacher};
use locallm_train::{TokenSplit, TrainConfig, init_model, train_lm};

fn device() -> Device {
    Device::flex()
}

fn softmax64(z: &[f64], t: f64) -> Vec<f64> {
    let m = z.iter().cloned().fold(f64::MIN, f64::max);
    let e: Vec<f64> = z.iter().map(|v| ((v - m) / t).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

fn kl64(p: &[f64], q: &[f64]) -> f64 {
    p.iter().zip(q).map(|(p, q)| p * (p / q).ln()).sum()
}

/// Two positions, four classes; every expected number is computed here in
/// f64 from the definitions, not by the code under test.
#[test]
fn kd_loss_equals_the_definition() {
    let s = [[1.0, 2.0, 0.5, -1.0], [0.0, -0.5, 3.0, 1.0]];
    let t = [[2.0, 1.5, -0.5, 0.0], [0.5, 0.0, 2.0, 2.5]];
    let y = [1usize, 3];
    let d = device();
    let tensor = |m: &[[f64; 4]; 2]| {
        let v: Vec<f32> = m.iter().flatten().map(|&x| x as f32).collect();
        Tensor::<2>::from_data(TensorData::new(v, [2, 4]), &d)
    };
    let targets = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 3], [2]), &d);
    for (temp, alpha, reverse) in [
        (1.0, 1.0, false),
        (2.0, 0.5, false),
        (4.0, 0.3, true),
        (2.0, 0.0, false),
    ] {
        let mut want = 0.0f64;
        for i in 0..2 {
            let (ps, pt) = (softmax64(&s[i], temp), softmax64(&t[i], temp));
            let kl = if reverse {
                kl64(&ps, &pt)
            } else {
                kl64(&pt, &ps)
            };
            let ce = -softmax64(&s[i], 1.0)[y[i]].ln();
            want += alpha * kl * temp * temp + (1.0 - alpha) * ce;
        }
        let cfg = KdConfig {
            temperature: temp as f32,
            alpha: alpha as f32,
            reverse_kl: reverse,
        };
        let got = kd_loss_sum(tensor(&s), tensor(&t), targets.clone(), &cfg).into_scalar::<f32>();
        assert!(
            (got as f64 - want).abs() < 1e-5,
            "T={temp} alpha={alpha} reverse={reverse}: {got} vs {want}"
        );
    }
    // a student equal to the teacher has no soft loss
    let same = KdConfig {
        alpha: 1.0,
        ..KdConfig::default()
    };
    let zero = kd_loss_sum(tensor(&t), tensor(&t), targets, &same).into_scalar::<f32>();
    assert!(zero.abs() < 1e-6);
}

const STUDENT: &str = "layers = 1\nd_model = 16\nheads = 2\nkv_heads = 1\nffn = 32\nctx = 16\n\
                       vocab = 300\nsteps = 30\nlr = 1e-2\nbatch = 4\nseed = 3\nwarmup = 2\n\
                       eval_every = 0\neval_windows = 4\n";

/// A student trained on a teacher's distributions ends closer to the
/// teacher than the same student trained on the text alone.
#[test]
fn distillation_brings_the_student_closer_to_the_teacher() {
    let d = device();
    let ad = d.clone().autodiff();
    let cfg = TrainConfig::from_toml(STUDENT).unwrap();
    let teacher_cfg = TrainConfig {
        layers: 2,
        d_model: 32,
        heads: 4,
        kv_heads: 2,
        ffn: 64,
        ..cfg.clone()
    };
    let teacher = init_model(&teacher_cfg.llama(), 11, &ad).valid();
    let stream: Vec<u32> = (0..800u32).map(|i| (i * 31 + i / 7) % 300).collect();
    let data = TokenSplit::new(&stream, 0.1, cfg.ctx).unwrap();
    let kl_after = |alpha: f32| {
        let kd = KdConfig {
            temperature: 2.0,
            alpha,
            reverse_kl: false,
        };
        let student = init_model(&cfg.llama(), cfg.seed, &ad);
        let trained = train_lm(
            student,
            &data,
            &cfg,
            &d,
            serde_json::json!({"alpha": alpha}),
            None,
            |m, w| distill_batch_loss(m, &teacher, w, &kd, &d, &ad),
            |_| true,
        )
        .unwrap();
        kl_to_teacher(
            &trained.model.valid(),
            &teacher,
            &data.held_out,
            cfg.ctx,
            0,
            &d,
        )
    };
    let (hard, soft) = (kl_after(0.0), kl_after(0.9));
    assert!(soft < hard, "KL to teacher: KD {soft}, hard labels {hard}");
}
