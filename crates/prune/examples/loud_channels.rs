//! Why structured magnitude pruning breaks SmolLM2 (chapter 17.3): in many
//! layers the FFN channel with by far the largest activation has one of the
//! *smallest* `down` columns, so ranking channels by Σ|W| removes it first.
//!
//! For each layer of the dense model, on the calibration text: the loudest
//! channel's activation norm ‖X_c‖ against the median channel's, and whether
//! the 10 % structured pruning (154 of 1536 channels) removes it when channels
//! are scored by magnitude (Σ_i |W_down[i, c]|) or by Wanda (‖X_c‖ · Σ_i |W_down[i, c]|).
//!
//! The table in the book (book/src/figures/pruning-loud-channels.md) is its output:
//!
//! `cargo run --release -p locallm-prune --example loud_channels > book/src/figures/pruning-loud-channels.md`

use burn::tensor::Tensor;
use locallm_model::NoCache;
use locallm_prune::calibrate::capture;
use locallm_prune::matrices::Matrix;
use locallm_prune::structured::n_removed;

fn values(t: Tensor<1>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// The `k` indices of smallest value.
fn smallest(v: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    order.truncate(k);
    order
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gguf = locallm_quant::GgufFile::open(locallm_models::default_model()?)?;
    let tokenizer = locallm_tokenizer::Tokenizer::from_metadata(&gguf.metadata)?;
    let device = locallm_model::default_device()?;
    let model = locallm_model::load_llama(&gguf, &device)?;
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/golden/texts/gfdl-1.3.txt"
    );
    let tokens = tokenizer.encode(&std::fs::read_to_string(root)?, false)?;
    let calib = locallm_prune::calibration_batch(&tokens, 4096, 256, &device)?;

    println!(
        "| layer | loudest channel | its ‖X‖ / median | its down column's L1 / median | removed by magnitude | by Wanda |"
    );
    println!("|---:|---:|---:|---:|:---:|:---:|");
    let mut x = model.embed.forward(calib); // [n_seq, seq, d_model]
    for (layer, block) in model.blocks.iter().enumerate() {
        let act = values(capture(block, x.clone(), layer, &model.rope).down); // ‖X_c‖, [ffn]
        let l1 = values(
            Matrix::Down
                .rows(block)
                .abs()
                .sum_dim(0)
                .reshape([act.len()]),
        ); // [ffn]
        let wanda: Vec<f32> = act.iter().zip(&l1).map(|(a, w)| a * w).collect();
        let median = |v: &[f32]| {
            let mut s = v.to_vec();
            s.sort_by(f32::total_cmp);
            s[s.len() / 2]
        };
        let loudest = (0..act.len())
            .max_by(|&a, &b| act[a].total_cmp(&act[b]))
            .unwrap();
        let k = n_removed(act.len(), 0.1);
        let yes = |removed: Vec<usize>| {
            if removed.contains(&loudest) {
                "yes"
            } else {
                "no"
            }
        };
        println!(
            "| {layer} | {loudest} | {:.0}× | {:.2} | {} | {} |",
            act[loudest] / median(&act),
            l1[loudest] / median(&l1),
            yes(smallest(&l1, k)),
            yes(smallest(&wanda, k)),
        );
        x = block.forward(x, layer, 0, &model.rope, &mut NoCache);
    }
    Ok(())
}
