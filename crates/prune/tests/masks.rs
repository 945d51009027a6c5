//! Masks keep exactly what they promise; Wanda's score on a case worked by hand.

use burn::tensor::{Device, Tensor, TensorData};
use locallm_prune::mask::{check_sparsity, mask_n_m, mask_per_matrix, mask_per_row};
use locallm_prune::{PruneError, parse_n_m, score};

fn device() -> Device {
    locallm_model::default_device().unwrap()
}

fn tensor2(values: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, shape), &device())
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// Distinct pseudo-random scores (a permutation of 0..n, scaled), so that
/// the expected mask is unambiguous.
fn scores(rows: usize, cols: usize) -> (Vec<f32>, Tensor<2>) {
    let n = rows * cols;
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 7919 + 13) % n) as f32 * 0.25)
        .collect();
    (v.clone(), tensor2(v, [rows, cols]))
}

/// Every kept score is at least every pruned score of the same group.
fn kept_beat_pruned(scores: &[f32], mask: &[f32]) -> bool {
    let kept = scores
        .iter()
        .zip(mask)
        .filter(|(_, m)| **m == 1.0)
        .map(|(s, _)| *s);
    let pruned = scores
        .iter()
        .zip(mask)
        .filter(|(_, m)| **m == 0.0)
        .map(|(s, _)| *s);
    let min_kept = kept.fold(f32::INFINITY, f32::min);
    pruned.fold(f32::NEG_INFINITY, f32::max) <= min_kept
}

#[test]
fn per_matrix_mask_prunes_exactly_the_smallest_fraction() {
    for sparsity in [0.0, 0.1, 0.25, 0.5, 0.6, 0.99] {
        let (s, t) = scores(12, 20);
        let mask = values(mask_per_matrix(t, sparsity));
        assert!(mask.iter().all(|&m| m == 0.0 || m == 1.0));
        let zeros = mask.iter().filter(|&&m| m == 0.0).count();
        assert_eq!(
            zeros,
            (240.0 * sparsity).floor() as usize,
            "sparsity {sparsity}"
        );
        assert!(kept_beat_pruned(&s, &mask));
    }
}

#[test]
fn per_row_mask_prunes_the_same_count_in_every_row() {
    let (s, t) = scores(12, 20);
    let mask = values(mask_per_row(t, 0.3));
    for (row, m) in s.chunks(20).zip(mask.chunks(20)) {
        assert_eq!(m.iter().filter(|&&x| x == 0.0).count(), 6);
        assert!(kept_beat_pruned(row, m));
    }
}

#[test]
fn n_m_masks_keep_n_in_every_group_of_m() {
    for (n, m) in [(2, 4), (4, 8), (1, 4)] {
        let (s, t) = scores(6, 32);
        let mask = values(mask_n_m(t, n, m).unwrap());
        for (group, g_mask) in s.chunks(m).zip(mask.chunks(m)) {
            assert_eq!(g_mask.iter().filter(|&&x| x == 1.0).count(), n, "{n}:{m}");
            assert!(kept_beat_pruned(group, g_mask));
        }
    }
}

#[test]
fn ties_still_give_the_exact_count() {
    let t = tensor2(vec![1.0; 64], [4, 16]);
    let zeros = |m: Vec<f32>| m.iter().filter(|&&x| x == 0.0).count();
    assert_eq!(zeros(values(mask_per_matrix(t.clone(), 0.5))), 32);
    assert_eq!(zeros(values(mask_per_row(t.clone(), 0.25))), 16);
    assert_eq!(zeros(values(mask_n_m(t, 2, 4).unwrap())), 32);
}

/// W = [[1, -2, 3], [-4, 0.5, 1.5]] and two calibration tokens
/// X = [[3, 0, 4], [4, 1, 0]]: ‖X_0‖ = 5, ‖X_1‖ = 1, ‖X_2‖ = 4, so the
/// scores are [[5, 2, 12], [20, 0.5, 6]]. With one weight per row pruned,
/// Wanda removes -2 and 0.5 (small inputs), while magnitude, pruning the two
/// smallest |W| of the matrix, removes 0.5 and the 1 that multiplies the
/// largest input.
#[test]
fn wanda_scores_match_the_hand_computed_case() {
    let w = tensor2(vec![1.0, -2.0, 3.0, -4.0, 0.5, 1.5], [2, 3]);
    let x: Tensor<3> = Tensor::from_data(
        TensorData::new(vec![3.0f32, 0.0, 4.0, 4.0, 1.0, 0.0], [1, 2, 3]),
        &device(),
    );
    let norms = score::input_norms(x);
    assert_eq!(values(norms.clone()), [5.0, 1.0, 4.0]);
    let s = score::wanda(w.clone(), norms);
    assert_eq!(values(s.clone()), [5.0, 2.0, 12.0, 20.0, 0.5, 6.0]);
    assert_eq!(
        values(mask_per_row(s, 1.0 / 3.0 + 1e-9)),
        [1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    );
    let magnitude = mask_per_matrix(score::magnitude(w), 2.0 / 6.0 + 1e-9);
    assert_eq!(values(magnitude), [0.0, 1.0, 1.0, 1.0, 0.0, 1.0]);
}

#[test]
fn bad_numbers_are_errors() {
    for s in [1.0, 1.5, -0.1, f64::NAN] {
        assert!(
            matches!(check_sparsity(s), Err(PruneError::BadSparsity(_))),
            "{s}"
        );
    }
    assert_eq!(parse_n_m("2:4").unwrap(), (2, 4));
    assert_eq!(parse_n_m("4:8").unwrap(), (4, 8));
    for bad in ["4:4", "5:4", "0:4"] {
        assert!(
            matches!(parse_n_m(bad), Err(PruneError::BadNm { .. })),
            "{bad}"
        );
    }
    for bad in ["2-4", "2:", "a:4", ""] {
        assert!(
            matches!(parse_n_m(bad), Err(PruneError::BadNmSyntax(_))),
            "{bad}"
        );
    }
    let (_, t) = scores(2, 6);
    assert!(matches!(
        mask_n_m(t, 2, 4),
        Err(PruneError::NmShape { cols: 6, .. })
    ));
}
