//! Reading GGUF model files and decoding their quantized weights.
//!
//! A GGUF file (the format of llama.cpp) is one self-describing blob:
//!
//! 1. a small header (magic `GGUF`, version, counts),
//! 2. typed key/value **metadata**: the architecture and its hyperparameters
//!    (`llama.block_count`), the whole tokenizer (`tokenizer.ggml.tokens`),
//!    the chat template,
//! 3. a **tensor directory**: for each weight its name, shape, element type
//!    and where its bytes start,
//! 4. the tensor data, each tensor aligned (32 bytes by default) so it can
//!    be used straight from a memory map.
//!
//! Most weights are not stored as f32 but *quantized* in **blocks**: 32
//! consecutive weights of a row share one f16 scale (Q8_0, Q4_0) or a scale
//! and a minimum (Q4_1), and each weight keeps only 8 or 4 bits. Turning a
//! block back into f32 is a multiply and an add per weight.
//!
//! - [`gguf`]: parse the file ([`GgufFile::open`]), look up metadata and
//!   tensors; write one ([`write_gguf`]).
//! - [`blocks`]: the element types ([`GgmlType`]) and their block layouts, with
//!   [`blocks::dequantize`] and ggml's reference [`blocks::quantize`].
//! - [`matvec`](mod@matvec): `y = W·x` straight from the blocks of a quantized
//!   matrix, plain ([`matvec_ref`]), the reference of the fast kernels.
//! - [`kernels`]: the fast `y = W·x` — f32 activations times the blocks, SIMD
//!   chosen at run time ([`Kernels`] caps it), rows over threads; and ggml's
//!   8-bit-activation scheme, for comparison.
//! - [`nf4`]: QLoRA's 4-bit NormalFloat, for comparison with ggml's formats.
//! - [`mix`]: which type each tensor gets in a mix such as `Q4_K_M`
//!   (llama.cpp's `llama_tensor_get_type`).
//! - [`quantize_model()`]: a whole model to a mix, as `llama-quantize` does.
//! - [`npy`]: write a tensor as a NumPy `.npy` file, to look at it in Python.

pub mod blocks;
pub mod gguf;
pub mod kernels;
pub mod matvec;
pub mod mix;
pub mod nf4;
pub mod npy;
pub mod quantize_model;

pub use blocks::{GgmlType, QuantError};
pub use gguf::{GgufError, GgufFile, GgufWriteError, MetaValue, Metadata, TensorInfo, write_gguf};
pub use kernels::Kernels;
pub use matvec::matvec_ref;
pub use mix::{MixModel, QuantMix};
pub use quantize_model::{QuantizeModelError, QuantizeReport, quantize_model};
