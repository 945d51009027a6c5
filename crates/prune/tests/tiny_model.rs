//! Pruning a tiny random Llama: counts, patterns, the layer-by-layer
//! calibration, and structured pruning that equals zeroing the same units.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_model::{Llama, LlamaConfig, NoCache, Proj};
use locallm_prune::calibrate::capture;
use locallm_prune::matrices::Matrix;
use locallm_prune::unstructured::{prune_block, prune_matrix};
use locallm_prune::{Pattern, PruneError, PruneSpec, Score, Target, calibration_batch, prune};

fn setup() -> (Llama, Device) {
    let device = locallm_model::default_device().unwrap();
    device.seed(7);
    (Llama::init(&LlamaConfig::tiny(), &device), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

fn calib(device: &Device) -> Tensor<2, Int> {
    let tokens: Vec<u32> = (0..200u32).map(|i| (i * 37 + 11) % 64).collect();
    calibration_batch(&tokens, 96, 32, device).unwrap() // [3, 32]
}

fn spec(score: Score, target: Target) -> PruneSpec {
    PruneSpec { score, target }
}

#[test]
fn unstructured_pruning_reaches_the_exact_sparsity_in_every_matrix() {
    for score in [Score::Magnitude, Score::Wanda] {
        let (mut model, device) = setup();
        let mut layers_done = Vec::new();
        let target = Target::Unstructured(Pattern::Fraction(0.5));
        let reports = prune(
            &mut model,
            &spec(score, target),
            Some(calib(&device)),
            |done, total| layers_done.push((done, total)),
        )
        .unwrap();
        assert_eq!(layers_done, [(1, 2), (2, 2)]);
        assert_eq!(reports.len(), 2 * 7);
        for (layer, block) in model.blocks.iter().enumerate() {
            for m in Matrix::ALL {
                let w = values(m.rows(block));
                let [d_out, d_in] = m.rows(block).dims();
                let zeros = w.iter().filter(|&&x| x == 0.0).count();
                let r = reports
                    .iter()
                    .find(|r| r.name == m.tensor_name(layer))
                    .unwrap();
                assert_eq!(r.zeros, zeros);
                assert!((r.sparsity() - 0.5).abs() < 1e-12);
                if score == Score::Wanda {
                    // the same count in every output row
                    for row in w.chunks(d_in) {
                        assert_eq!(row.iter().filter(|&&x| x == 0.0).count(), d_in / 2);
                    }
                } else {
                    assert_eq!(zeros, d_out * d_in / 2);
                }
            }
        }
    }
}

#[test]
fn n_m_pruning_leaves_n_nonzeros_in_every_group() {
    for (score, n, m) in [
        (Score::Magnitude, 2, 4),
        (Score::Wanda, 2, 4),
        (Score::Wanda, 4, 8),
    ] {
        let (mut model, device) = setup();
        let target = Target::Unstructured(Pattern::NM { n, m });
        prune(
            &mut model,
            &spec(score, target),
            Some(calib(&device)),
            |_, _| {},
        )
        .unwrap();
        for block in &model.blocks {
            for mat in Matrix::ALL {
                for group in values(mat.rows(block)).chunks(m) {
                    assert_eq!(group.iter().filter(|&&x| x != 0.0).count(), n);
                }
            }
        }
    }
}

/// Layer 1 must be pruned with the inputs that the *pruned* layer 0 produces.
#[test]
fn wanda_feeds_the_pruned_outputs_to_the_next_layer() {
    let (model, device) = setup();
    let pattern = Pattern::Fraction(0.5);
    let mut pruned = model.clone();
    let target = Target::Unstructured(pattern);
    prune(
        &mut pruned,
        &spec(Score::Wanda, target),
        Some(calib(&device)),
        |_, _| {},
    )
    .unwrap();

    // by hand: prune layer 0, run it, measure layer 1's inputs
    let mut by_hand = model.clone();
    let x0 = by_hand.embed.forward(calib(&device));
    let norms0 = capture(&by_hand.blocks[0], x0.clone(), 0, &by_hand.rope);
    prune_block(
        &mut by_hand.blocks[0],
        0,
        Score::Wanda,
        pattern,
        Some(&norms0),
    )
    .unwrap();
    let x1 = by_hand.blocks[0].forward(x0, 0, 0, &by_hand.rope, &mut NoCache);
    let norms1 = capture(&by_hand.blocks[1], x1, 1, &by_hand.rope);
    for m in Matrix::ALL {
        let expected = prune_matrix(
            m.rows(&model.blocks[1]),
            Score::Wanda,
            Some(m.input_norms(&norms1)),
            pattern,
        )
        .unwrap();
        assert_eq!(values(m.rows(&pruned.blocks[1])), values(expected), "{m:?}");
    }
}

#[test]
fn structured_pruning_equals_zeroing_the_removed_units() {
    let (model, device) = setup();
    let mut pruned = model.clone();
    let reports = prune(
        &mut pruned,
        &spec(Score::Magnitude, Target::Structured(0.5)),
        None,
        |_, _| {},
    )
    .unwrap();
    // tiny: 4 heads in 2 KV groups of 2, head_dim 8, ffn 64 → 1 group and 32 channels go
    let c = &pruned.config;
    assert_eq!(
        (c.n_heads, c.n_kv_heads, c.head_dim, c.ffn_dim),
        (2, 1, 8, 32)
    );
    let q = reports
        .iter()
        .find(|r| r.name == "blk.0.attn_q.weight")
        .unwrap();
    assert_eq!((q.shape_before, q.shape), ([32, 32], [16, 32]));
    assert!((q.sparsity() - 0.5).abs() < 1e-12);

    // The same model with the least important units zeroed instead of removed,
    // importance computed here independently: Σ|W| of down's columns / o's head-group columns.
    let mut zeroed = model.clone();
    for block in &mut zeroed.blocks {
        let (mut down, [ffn, d]) = burn_weight(&block.mlp.down); // [ffn, d_model]: row c = channel c
        let channel_sums: Vec<f32> = down
            .chunks(d)
            .map(|r| r.iter().map(|x| x.abs()).sum())
            .collect();
        for c in smallest(&channel_sums, ffn / 2) {
            down[c * d..(c + 1) * d].fill(0.0);
        }
        block.mlp.down = proj(down, [ffn, d], &device);
        let (mut o, [q_dim, d]) = burn_weight(&block.attn.o); // [q_dim, d_model]: 2 groups of 16 rows
        let group_sums: Vec<f32> = o
            .chunks(16 * d)
            .map(|g| g.iter().map(|x| x.abs()).sum())
            .collect();
        for g in smallest(&group_sums, 1) {
            o[g * 16 * d..(g + 1) * 16 * d].fill(0.0);
        }
        block.attn.o = proj(o, [q_dim, d], &device);
    }
    let tokens: Tensor<2, Int> =
        Tensor::from_data(TensorData::new((0..20i64).collect(), [1, 20]), &device);
    let a = values(pruned.forward(tokens.clone(), 0, &mut NoCache));
    let b = values(zeroed.forward(tokens, 0, &mut NoCache));
    let max_diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(max_diff < 1e-4, "max |Δlogit| {max_diff}");
}

#[test]
fn bad_requests_are_errors() {
    let (mut model, device) = setup();
    let wanda = spec(Score::Wanda, Target::Unstructured(Pattern::Fraction(0.5)));
    assert!(matches!(
        prune(&mut model, &wanda, None, |_, _| {}),
        Err(PruneError::NeedsCalibration)
    ));
    let too_much = spec(
        Score::Magnitude,
        Target::Unstructured(Pattern::Fraction(1.0)),
    );
    assert!(matches!(
        prune(&mut model, &too_much, None, |_, _| {}),
        Err(PruneError::BadSparsity(_))
    ));
    let bad_nm = spec(
        Score::Magnitude,
        Target::Unstructured(Pattern::NM { n: 4, m: 2 }),
    );
    assert!(matches!(
        prune(&mut model, &bad_nm, None, |_, _| {}),
        Err(PruneError::BadNm { .. })
    ));
    let all_heads = spec(Score::Magnitude, Target::Structured(0.9));
    assert!(matches!(
        prune(&mut model, &all_heads, None, |_, _| {}),
        Err(PruneError::TooManyHeads { .. })
    ));
    let tokens = [1u32; 100];
    assert!(matches!(
        calibration_batch(&tokens, 128, 32, &device),
        Err(PruneError::CalibrationTooShort {
            have: 100,
            need: 128
        })
    ));
    assert!(matches!(
        calibration_batch(&tokens, 16, 32, &device),
        Err(PruneError::BadCalibration { .. })
    ));
}

/// burn's `[d_in, d_out]` weight of a projection, as a flat vector.
fn burn_weight(p: &Proj) -> (Vec<f32>, [usize; 2]) {
    let w = p.base_weight();
    let dims = w.dims();
    (values(w), dims)
}

fn proj(values: Vec<f32>, shape: [usize; 2], device: &Device) -> Proj {
    let weight = Tensor::from_data(TensorData::new(values, shape), device);
    Proj::dense(Linear {
        weight: Param::from_tensor(weight),
        bias: None,
    })
}

/// Indices of the `k` smallest values.
fn smallest(v: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    order.truncate(k);
    order
}
