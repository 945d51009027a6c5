//! The adapter on SmolLM2-135M itself: an adapter merged into a GGUF file
//! gives, once that file is loaded back, the logits of the unmerged adapter.

use burn::module::Param;
use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_lora::attach::proj_mut;
use locallm_lora::finetune::adapted;
use locallm_lora::{LoraConfig, Target, attach, export_merged_gguf, merge};
use locallm_model::{Llama, NoCache, load_llama};
use locallm_quant::GgufFile;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn last_logits(model: &Llama, tokens: &[i64], device: &Device) -> Vec<f32> {
    let input =
        Tensor::<2, Int>::from_data(TensorData::new(tokens.to_vec(), [1, tokens.len()]), device);
    let out = model.forward_last(input, 0, &mut NoCache);
    out.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()
}

#[test]
fn merged_gguf_matches_the_unmerged_adapter() {
    let path = locallm_models::default_model().unwrap();
    let gguf = GgufFile::open(&path).unwrap();
    let device = Device::flex();
    let lora = LoraConfig {
        rank: 4,
        alpha: 8.0,
        rslora: false,
        targets: vec![Target::Q, Target::V, Target::Down],
    };
    let mut model = attach(load_llama(&gguf, &device).unwrap(), &lora, &device, 3).unwrap();
    // a "trained" adapter: B random instead of zero
    let mut rng = StdRng::seed_from_u64(5);
    for block in model.blocks.iter_mut() {
        for &t in &lora.targets {
            let adapter = proj_mut(block, t).lora.as_mut().unwrap();
            let [r, d_out] = adapter.b.val().dims();
            let v: Vec<f32> = (0..r * d_out)
                .map(|_| rng.random_range(-0.02..0.02))
                .collect();
            adapter.b =
                Param::from_tensor(Tensor::from_data(TensorData::new(v, [r, d_out]), &device));
        }
    }
    let tokens = [1i64, 504, 3458, 282, 4649, 314, 2];
    let unmerged = last_logits(&model, &tokens, &device);
    let base = last_logits(&load_llama(&gguf, &device).unwrap(), &tokens, &device);

    let which = adapted(&model);
    assert_eq!(which.len(), 30 * 3);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("merged.gguf");
    export_merged_gguf(&gguf, &merge(model), &which, &out).unwrap();
    let merged_file = GgufFile::open(&out).unwrap();
    assert_eq!(
        merged_file.tensor("blk.7.attn_q.weight").unwrap().ggml_type,
        locallm_quant::GgmlType::F32
    );
    // untouched tensors are copied as they were
    let k = "blk.7.attn_k.weight";
    assert_eq!(
        merged_file.tensor_data(merged_file.tensor(k).unwrap()),
        gguf.tensor_data(gguf.tensor(k).unwrap())
    );
    let merged = last_logits(
        &load_llama(&merged_file, &device).unwrap(),
        &tokens,
        &device,
    );

    let max_diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    };
    assert!(
        max_diff(&merged, &unmerged) < 1e-3,
        "{}",
        max_diff(&merged, &unmerged)
    );
    assert!(
        max_diff(&base, &unmerged) > 0.05,
        "{}",
        max_diff(&base, &unmerged)
    );
}
