//! NumPy `.npy` files for f32 arrays, so that a tensor taken out of a GGUF
//! file (`locallm inspect --tensor NAME --out x.npy`) opens with `numpy.load`.
//!
//! ```text
//! "\x93NUMPY" | major 1 | minor 0 | header_len: u16 LE
//! header: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//!         then spaces and one '\n', so the data starts at a multiple of 64
//! data:   the values as little-endian f32, row-major (C order)
//! ```
//!
//! We write the header exactly as `numpy.save` does, including the spare
//! spaces numpy leaves so the first axis can grow in place: our files are
//! byte-identical to numpy's. `read_f32` reads such files back.

use std::io::{self, BufWriter, Write};
use std::path::Path;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy aligns the data to 64 bytes (`ARRAY_ALIGN`).
const ALIGN: usize = 64;
/// numpy's spare room for the first dimension (`GROWTH_AXIS_MAX_DIGITS`).
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("shape {shape:?} does not hold {got} values")]
    ShapeMismatch { shape: Vec<usize>, got: usize },
    #[error("the .npy header for shape {0:?} is too long for format version 1.0")]
    HeaderTooLong(Vec<usize>),
    #[error("not a little-endian float32 C-order .npy file: {0}")]
    Unsupported(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The header bytes for a C-order f32 array of `shape`: magic through the final `'\n'`.
pub fn header(shape: &[usize]) -> Result<Vec<u8>, NpyError> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    // Python's repr of a tuple: `()`, `(5,)`, `(3, 4)`.
    let tuple = match dims.as_slice() {
        [d] => format!("({d},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    if let Some(first) = dims.first() {
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(first.len())));
    }
    // Like numpy, pad a full 64 bytes when already aligned rather than zero.
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    let pad = ALIGN - unpadded % ALIGN;
    let header_len =
        u16::try_from(dict.len() + pad + 1).map_err(|_| NpyError::HeaderTooLong(shape.to_vec()))?;

    let mut out = Vec::with_capacity(unpadded + pad);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]); // format version 1.0
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + pad, b' ');
    out.push(b'\n');
    Ok(out)
}

/// Write `data`, laid out row-major with `shape`, as a `.npy` file to `w`.
pub fn write_f32<W: Write>(mut w: W, shape: &[usize], data: &[f32]) -> Result<(), NpyError> {
    let n = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if n != Some(data.len()) {
        return Err(NpyError::ShapeMismatch {
            shape: shape.to_vec(),
            got: data.len(),
        });
    }
    w.write_all(&header(shape)?)?;
    let mut buf = Vec::with_capacity(4 * 4096);
    for chunk in data.chunks(4096) {
        buf.clear();
        buf.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Write `data` with `shape` to the file `path`: to a temporary file next to
/// it, renamed over `path` once complete (as the GGUF writer does), so an
/// interrupted save never leaves half an array under the name.
pub fn save_f32(path: impl AsRef<Path>, shape: &[usize], data: &[f32]) -> Result<(), NpyError> {
    let path = path.as_ref();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let tmp = tempfile::Builder::new()
        .prefix(".npy-")
        .tempfile_in(dir.unwrap_or(Path::new(".")))?;
    let mut w = BufWriter::new(tmp.as_file());
    write_f32(&mut w, shape, data)?;
    w.flush()?;
    drop(w);
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Read a `.npy` file of little-endian f32 in C order (what `numpy.save` writes
/// for a float32 array, and what `write_f32` writes): `(shape, values)`.
pub fn read_f32(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), NpyError> {
    let bad = |why: &str| NpyError::Unsupported(why.to_string());
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("no \\x93NUMPY magic"))?;
    let (header, data) = match rest {
        [1, _, a, b, rest @ ..] => rest.split_at_checked(u16::from_le_bytes([*a, *b]) as usize),
        [2 | 3, _, a, b, c, d, rest @ ..] => {
            rest.split_at_checked(u32::from_le_bytes([*a, *b, *c, *d]) as usize)
        }
        _ => return Err(bad("unknown format version")),
    }
    .ok_or_else(|| bad("header longer than the file"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    if !header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False") {
        return Err(bad(header.trim_end()));
    }
    let shape = parse_shape(header).ok_or_else(|| bad(header.trim_end()))?;
    // Check the size before allocating anything.
    let n = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if n.and_then(|n| n.checked_mul(4)) != Some(data.len()) {
        return Err(bad("data size does not match the shape"));
    }
    let values = data
        .as_chunks::<4>()
        .0
        .iter()
        .map(|b| f32::from_le_bytes(*b))
        .collect();
    Ok((shape, values))
}

/// The tuple after `'shape': `, e.g. `(3, 4)` or `(5,)` or `()`.
fn parse_shape(header: &str) -> Option<Vec<usize>> {
    let after = header.split_once("'shape': (")?.1;
    let inside = after.split_once(')')?.0;
    inside
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_follows_the_format_spec() {
        let h = header(&[3, 4]).unwrap();
        assert_eq!(&h[..8], b"\x93NUMPY\x01\x00");
        let len = u16::from_le_bytes([h[8], h[9]]) as usize;
        assert_eq!(h.len(), 10 + len);
        assert_eq!(h.len() % 64, 0, "data must start 64-byte aligned");
        assert_eq!(*h.last().unwrap(), b'\n');
        let text = std::str::from_utf8(&h[10..]).unwrap();
        assert!(text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"));
        let padding = text.split_once('}').unwrap().1;
        assert!(
            padding
                .strip_suffix('\n')
                .unwrap()
                .bytes()
                .all(|b| b == b' ')
        );
    }

    #[test]
    fn shape_tuples_are_python_reprs() {
        let text =
            |shape: &[usize]| String::from_utf8(header(shape).unwrap()[10..].to_vec()).unwrap();
        assert!(text(&[]).contains("'shape': (), }"));
        assert!(text(&[7]).contains("'shape': (7,), }"));
        assert!(text(&[49152, 576]).contains("'shape': (49152, 576), }"));
    }

    #[test]
    fn round_trips() {
        let data: Vec<f32> = (0..24).map(|i| i as f32 * -0.25).collect();
        for shape in [vec![24], vec![2, 3, 4], vec![1, 2, 3, 4]] {
            let mut bytes = Vec::new();
            write_f32(&mut bytes, &shape, &data).unwrap();
            assert_eq!(read_f32(&bytes).unwrap(), (shape, data.clone()));
        }
    }

    #[test]
    fn mismatches_are_errors() {
        let err = write_f32(Vec::new(), &[2, 3], &[0.0; 5]).unwrap_err();
        assert!(matches!(err, NpyError::ShapeMismatch { got: 5, .. }));
        let mut bytes = Vec::new();
        write_f32(&mut bytes, &[2, 3], &[0.0; 6]).unwrap();
        assert!(read_f32(&bytes[..bytes.len() - 1]).is_err());
        assert!(read_f32(b"\x93NUMPY\x01\x00\xff\xff").is_err());
        assert!(read_f32(b"PK\x03\x04").is_err());
    }
}
