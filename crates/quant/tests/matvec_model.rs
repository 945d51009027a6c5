//! `matvec` on real tensors of the default model, against dequantize-then-matmul
//! in f64 (the dequantizers are checked against gguf-py in golden_model.rs).

use locallm_quant::{GgmlType, GgufFile, blocks, matvec};

/// `y = W·x` from the blocks equals `W` dequantized and multiplied in f64, per
/// row, within `4·d_in·ε·Σ|w·x|` (worst-case f32 summation error, Higham's γ_n,
/// with room for the factored `d·Σq·x + m·Σx` sums).
fn check(ty: GgmlType, w_bytes: &[u8], d_out: usize, d_in: usize, x: &[f32]) {
    let w = blocks::dequantize(ty, w_bytes, d_out * d_in).unwrap();
    let mut y = vec![f32::NAN; d_out];
    matvec(ty, w_bytes, d_out, d_in, x, &mut y).unwrap();
    for (r, (w_r, &y_r)) in w.chunks_exact(d_in).zip(&y).enumerate() {
        let exact: f64 = w_r.iter().zip(x).map(|(&a, &b)| a as f64 * b as f64).sum();
        let mag: f64 = w_r
            .iter()
            .zip(x)
            .map(|(&a, &b)| (a as f64 * b as f64).abs())
            .sum();
        let tol = 4.0 * d_in as f64 * f32::EPSILON as f64 * mag;
        assert!(
            (y_r as f64 - exact).abs() <= tol,
            "{ty} row {r}: {y_r} vs {exact} (tol {tol})"
        );
        assert!(
            mag > 0.0,
            "row {r} is all zero: the test would prove nothing"
        );
    }
}

/// A deterministic, sign-changing input vector.
fn input(n: usize) -> Vec<f32> {
    (0..n).map(|i| ((i as f32) * 0.7).sin() * 1.5).collect()
}

#[test]
fn matvec_on_real_q4_1_and_q8_0_tensors() {
    let path = locallm_models::default_model().expect("default model (fetched on first use)");
    let model = GgufFile::open(&path).unwrap();

    // ffn_down of layer 0: GGUF shape [1536, 576] = 576 rows of 1536 (d_in first).
    let t = model.tensor("blk.0.ffn_down.weight").unwrap();
    assert_eq!(t.ggml_type, GgmlType::Q4_1);
    let (d_in, d_out) = (t.shape[0] as usize, t.shape[1] as usize);
    assert_eq!((d_in, d_out), (1536, 576));
    check(t.ggml_type, model.tensor_data(t), d_out, d_in, &input(d_in));

    // The token embedding, Q8_0, 49152 rows of 576: the first 300 rows and
    // the last 100 (a matrix is any run of whole rows).
    let t = model.tensor("token_embd.weight").unwrap();
    assert_eq!(t.ggml_type, GgmlType::Q8_0);
    let (d_in, n_rows) = (t.shape[0] as usize, t.shape[1] as usize);
    assert_eq!((d_in, n_rows), (576, 49152));
    let row_bytes = GgmlType::Q8_0.n_bytes(d_in).unwrap();
    let data = model.tensor_data(t);
    let x = input(d_in);
    check(GgmlType::Q8_0, &data[..300 * row_bytes], 300, d_in, &x);
    check(
        GgmlType::Q8_0,
        &data[(n_rows - 100) * row_bytes..],
        100,
        d_in,
        &x,
    );
}
