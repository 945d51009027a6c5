//! Chapter 2 exercise: where do the numbers of each tensor lie in a
//! safetensors file?
//!
//! A safetensors file is an 8-byte header length, a JSON header, then the
//! raw little-endian numbers of every tensor, one after the other. The
//! header gives each tensor its `data_offsets`: `[start, end)` in bytes,
//! counted from the first byte after the header. Tensors are laid out in
//! the order of their names (all of ours are f32, 4 bytes per number), with
//! no gaps.
//!
//! Check your work with `./check.sh ch02-safetensors-offsets` (from
//! `exercises/`). The tests compare your offsets with a file written by the
//! `safetensors` crate (`locallm-train`'s `safetensors_bytes`).

/// One tensor of the file: its name and shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
}

/// Numbers in a tensor of `shape` (a scalar, shape `[]`, holds one).
pub fn n_numbers(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// `(name, start, end)` of every f32 tensor, in the order they lie in the file.
pub fn data_offsets(tensors: &[Tensor]) -> Vec<(String, usize, usize)> {
    let mut sorted: Vec<&Tensor> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut start = 0;
    sorted
        .into_iter()
        .map(|t| {
            let end = start + 4 * n_numbers(&t.shape);
            let entry = (t.name.clone(), start, end);
            start = end;
            entry
        })
        .collect()
}
