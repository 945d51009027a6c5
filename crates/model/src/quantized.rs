//! Weights left in their GGUF blocks: the fast path for CPU inference.
//!
//! The plain loader ([`load_llama`](crate::load_llama)) dequantizes every
//! weight to f32 — 4 bytes a weight where the file spends ~0.6. Decoding a
//! token reads every weight once, so it reads 5–7× more memory than it needs
//! to, and memory bandwidth is what sets decode speed. A [`QuantWeight`]
//! instead points into the memory-mapped file and multiplies with
//! `locallm_quant::kernels` (each block widened to f32 in SIMD registers and
//! multiplied by the f32 activation, rows over threads). The activations are
//! not rounded to 8 bits as llama.cpp's are: on SmolLM2 that turns "The
//! capital of France is Paris." into "L'Étoile, la Marseillaise" (chapter 11).
//! It is a custom op on burn tensors: it takes the
//! activation out of its tensor, runs the kernel, and hands back a tensor, so
//! the model code around it does not change.
//!
//! Prompt processing multiplies many rows at once, and so does a batched
//! decode step (one row per sequence). Row by row, every block would be
//! decoded once per row; a wide input instead goes through
//! `kernels::gemm_f32_many`, which decodes a tile of weight rows at a time
//! into a panel that stays in cache and multiplies it with every activation
//! row (a tiled GEMM over the blocks, with a micro-kernel shaped for 2 to 8
//! rows). Both ways compute in f32 with the same exact activations and
//! differ only in the order of the additions.

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};
use locallm_quant::kernels::{
    Kernels, MatvecF32, ROWS_MAX, gemm_f32_many, gemm_pays, has_fast_kernel, matvec_f32_many,
};
use locallm_quant::{GgmlType, GgufFile, blocks::dequantize};

/// At most this many rows (`batch × seq`) may go through the row kernels,
/// one call per row (for 2 or more, only where `gemm_pays` says the GEMM's
/// few-rows shape would not be faster); a wider input is a prompt,
/// multiplied by the tiled GEMM.
pub const MAX_KERNEL_ROWS: usize = ROWS_MAX;

/// A `[d_in, d_out]` weight (as burn sees it) kept as GGUF rows
/// `[d_out, d_in]` of quantized blocks inside the memory-mapped file.
#[derive(Debug, Clone)]
pub struct QuantWeight {
    file: Arc<GgufFile>,
    tensor: usize, // index in `file.tensors`
    /// The first of the tensor's rows this weight is (a fused QKV or
    /// gate/up matrix holds several weights, one after the other).
    row0: usize,
    pub ty: GgmlType,
    pub d_in: usize,
    pub d_out: usize,
    /// Which kernels multiply it: chosen at load time, kept with the weight.
    pub kernels: Kernels,
    device: Device,
}

impl QuantWeight {
    /// The tensor `name` of `file`, to be multiplied with `kernels`, if its
    /// type has a fast kernel and its shape is `[d_out, d_in]` rows; `None`
    /// otherwise (the caller then dequantizes it like the plain path).
    pub fn new(
        file: &Arc<GgufFile>,
        name: &str,
        d_in: usize,
        d_out: usize,
        device: &Device,
        kernels: Kernels,
    ) -> Option<Self> {
        Self::rows(file, name, d_in, (0, d_out), d_out, device, kernels)
    }

    /// Rows `first .. first + n` of the tensor `name`, which has `total`
    /// rows of `d_in` weights: one weight of a fused matrix (rows are whole
    /// blocks, so a row range is a byte range).
    pub fn rows(
        file: &Arc<GgufFile>,
        name: &str,
        d_in: usize,
        (first, n): (usize, usize),
        total: usize,
        device: &Device,
        kernels: Kernels,
    ) -> Option<Self> {
        let tensor = file.tensors.iter().position(|t| t.name == name)?;
        let info = &file.tensors[tensor];
        let shape_ok = info.shape == [d_in as u64, total as u64] && first + n <= total;
        (shape_ok && has_fast_kernel(info.ggml_type) && file.try_tensor_data(info).is_ok()).then(
            || QuantWeight {
                file: Arc::clone(file),
                tensor,
                row0: first,
                ty: info.ggml_type,
                d_in,
                d_out: n,
                kernels,
                device: device.clone(),
            },
        )
    }

    /// The raw blocks, `d_out` rows of `d_in` weights.
    pub fn bytes(&self) -> &[u8] {
        let info = &self.file.tensors[self.tensor];
        let all = self.file.tensor_data(info);
        let row_bytes = all.len() / info.shape[1] as usize;
        &all[self.row0 * row_bytes..(self.row0 + self.d_out) * row_bytes]
    }

    /// Rows `[d_out, d_in]` in f32.
    fn dequantized_rows(&self) -> Vec<f32> {
        dequantize(self.ty, self.bytes(), self.d_in * self.d_out).expect("checked in new")
    }

    /// The weight as a dense `[d_in, d_out]` tensor (dequantized).
    pub fn to_dense(&self) -> Tensor<2> {
        let rows = TensorData::new(self.dequantized_rows(), [self.d_out, self.d_in]);
        Tensor::<2>::from_data(rows, &self.device).transpose()
    }

    // ANCHOR: quant_forward
    /// `x`: `[batch, seq, d_in]` → `[batch, seq, d_out]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [y] = Self::forward_many([self], x);
        y
    }

    /// [`forward`](Self::forward) of several weights on the same `x` (a
    /// layer's Q, K and V; gate and up): one parallel call for all of them,
    /// so the decode threads wake once, not once per weight. One row goes
    /// through the row kernels; more (a prompt, a batched decode step)
    /// through the tiled GEMM, which decodes each block once per call, but
    /// for a few rows of a type whose panels it decodes slowly (`gemm_pays`):
    /// those go through the row kernels, one call per row.
    pub fn forward_many<const N: usize>(ws: [&Self; N], x: Tensor<3>) -> [Tensor<3>; N] {
        let [b, s, d_in] = x.dims();
        let kernels = ws.first().map_or(Kernels::Best, |w| w.kernels);
        if ws.iter().any(|w| w.kernels != kernels) {
            return ws.map(|w| w.forward(x.clone()));
        }
        let x = x.into_data().convert::<f32>();
        let x = x.as_slice::<f32>().expect("f32 activations"); // [b·s·d_in]
        let mut ys = ws.map(|w| vec![0.0f32; b * s * w.d_out]); // N × [b·s·d_out]
        if ws.iter().all(|w| gemm_pays(w.ty, b * s, kernels)) {
            gemm_f32_many(
                &mut Self::mats(&ws, &mut ys, None),
                x,
                [b * s, d_in],
                kernels,
            )
            .expect("shapes checked in new");
        } else {
            for (t, x) in x.chunks_exact(d_in).enumerate() {
                matvec_f32_many(&mut Self::mats(&ws, &mut ys, Some(t)), x, kernels)
                    .expect("shapes checked in new");
            }
        }
        let mut ys = ys.into_iter();
        ws.map(|w| {
            let y = ys.next().expect("one output per weight");
            Tensor::from_data(TensorData::new(y, [b, s, w.d_out]), &w.device)
        })
    }
    // ANCHOR_END: quant_forward

    /// The kernels' view of `ws` and their outputs `ys`: row `t`'s outputs
    /// of each, or with `None` all of them.
    fn mats<'a>(ws: &[&'a Self], ys: &'a mut [Vec<f32>], t: Option<usize>) -> Vec<MatvecF32<'a>> {
        (ws.iter().zip(ys))
            .map(|(w, y)| MatvecF32 {
                ty: w.ty,
                weights: w.bytes(),
                d_out: w.d_out,
                y: match t {
                    Some(t) => &mut y[t * w.d_out..(t + 1) * w.d_out],
                    None => y,
                },
            })
            .collect()
    }

    /// Rows of the matrix as an embedding table: `ids` → `[ids.len(), d_in]`
    /// values, dequantizing only the rows asked for.
    pub fn lookup(&self, ids: &[u32]) -> Result<Vec<f32>, String> {
        let row_bytes = self.bytes().len() / self.d_out;
        let mut out = Vec::with_capacity(ids.len() * self.d_in);
        for &id in ids {
            let id = id as usize;
            if id >= self.d_out {
                return Err(format!(
                    "token id {id} is outside the vocabulary of {}",
                    self.d_out
                ));
            }
            let row = &self.bytes()[id * row_bytes..(id + 1) * row_bytes];
            out.extend(dequantize(self.ty, row, self.d_in).expect("checked in new"));
        }
        Ok(out)
    }

    /// Bytes of the blocks (they live in the file's memory map).
    pub fn n_bytes(&self) -> usize {
        self.bytes().len()
    }

    /// Token ids `[batch, seq]` → embeddings `[batch, seq, d_in]`, reading
    /// this matrix as the embedding table.
    pub fn embed(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let [b, s] = tokens.dims();
        let ids: Vec<u32> = tokens
            .into_data()
            .convert::<i64>()
            .iter::<i64>()
            .map(|t| u32::try_from(t).unwrap_or(u32::MAX))
            .collect();
        let values = self.lookup(&ids).unwrap_or_else(|e| panic!("{e}"));
        Tensor::from_data(TensorData::new(values, [b, s, self.d_in]), &self.device)
    }
}

impl std::fmt::Display for QuantWeight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QuantWeight[{}, {}, {}]", self.d_in, self.d_out, self.ty)
    }
}

// The blocks are not burn parameters: no gradient, no record, no device move.
use burn::empty;
empty!(QuantWeight);
