//! What the model's integration tests share.
#![allow(dead_code)] // each test binary uses a different subset

use burn::tensor::Tensor;
use locallm_model::KvCache;

/// The plainest KV cache: keys and values concatenated along the sequence.
#[derive(Default)]
pub struct Concat(Vec<Option<(Tensor<4>, Tensor<4>)>>);

impl KvCache for Concat {
    fn update(
        &mut self,
        layer: usize,
        start: usize,
        k: Tensor<4>,
        v: Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>) {
        if self.0.len() <= layer {
            self.0.resize(layer + 1, None);
        }
        let (k, v) = match self.0[layer].take() {
            Some((pk, pv)) => {
                assert_eq!(pk.dims()[2], start);
                (Tensor::cat(vec![pk, k], 2), Tensor::cat(vec![pv, v], 2))
            }
            None => (k, v),
        };
        self.0[layer] = Some((k.clone(), v.clone()));
        (k, v)
    }
}
