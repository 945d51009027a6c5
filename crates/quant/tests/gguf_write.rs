//! The GGUF writer: read → write → read gives the same file, byte for byte
//! for the real default model (so our layout is ggml's), and every metadata
//! type survives; bad input gives errors and never a partial file.

use std::path::Path;

use locallm_quant::{GgmlType, GgufFile, GgufWriteError, MetaValue, TensorInfo, write_gguf};

/// Copy `src` to `dst` through our writer, changing nothing.
fn rewrite(src: &GgufFile, dst: &Path) {
    write_gguf(dst, &src.metadata_in_file_order(), &src.tensors, |i| {
        Ok(src.tensor_data(&src.tensors[i]).to_vec())
    })
    .unwrap();
}

#[test]
fn rewriting_the_default_model_is_byte_identical() {
    let path = locallm_models::default_model().expect("default model (fetched on first use)");
    let src = GgufFile::open(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.gguf");
    rewrite(&src, &out);
    let (a, b) = (std::fs::read(&path).unwrap(), std::fs::read(&out).unwrap());
    assert_eq!(a.len(), b.len());
    let first_diff = a.iter().zip(&b).position(|(x, y)| x != y);
    assert_eq!(first_diff, None, "first differing byte");
    // Only the finished file is left: the temporary one was renamed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

fn tensor(name: &str, shape: &[u64], ggml_type: GgmlType) -> TensorInfo {
    TensorInfo {
        name: name.into(),
        shape: shape.to_vec(),
        ggml_type,
        offset: 0,
    }
}

/// Every value type, nested arrays, an unusual alignment, tensors whose
/// sizes need padding: all read back equal.
#[test]
fn every_metadata_type_round_trips() {
    use MetaValue::*;
    let metadata: Vec<(std::string::String, MetaValue)> = vec![
        ("general.alignment".into(), U32(64)),
        ("u8".into(), U8(200)),
        ("i8".into(), I8(-5)),
        ("u16".into(), U16(65000)),
        ("i16".into(), I16(-30000)),
        ("u32".into(), U32(4_000_000_000)),
        ("i32".into(), I32(-2_000_000_000)),
        ("f32".into(), F32(-1.5e-7)),
        ("bool".into(), Bool(true)),
        ("string".into(), String("héllo\n".into())),
        ("u64".into(), U64(u64::MAX)),
        ("i64".into(), I64(i64::MIN)),
        ("f64".into(), F64(std::f64::consts::PI)),
        (
            "strings".into(),
            Array(vec![String("a".into()), String("".into())]),
        ),
        (
            "nested".into(),
            Array(vec![Array(vec![I32(1), I32(2)]), Array(vec![F32(0.5)])]),
        ),
    ];
    let tensors = vec![
        tensor("a", &[3], GgmlType::F32),
        tensor("b", &[32, 2], GgmlType::Q4_1),
        tensor("c", &[256], GgmlType::Q6_K),
    ];
    let data: Vec<Vec<u8>> = tensors
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (0..t.n_bytes())
                .map(|b| (b as u8).wrapping_mul(i as u8 + 1))
                .collect()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("all.gguf");
    write_gguf(&out, &metadata, &tensors, |i| Ok(data[i].clone())).unwrap();

    let back = GgufFile::open(&out).unwrap();
    assert_eq!(back.metadata_in_file_order(), metadata);
    assert_eq!(back.alignment, 64);
    assert!(back.data_offset.is_multiple_of(64));
    for (i, t) in back.tensors.iter().enumerate() {
        assert_eq!(
            (&t.name, &t.shape, t.ggml_type),
            (&tensors[i].name, &tensors[i].shape, tensors[i].ggml_type)
        );
        assert!(t.offset.is_multiple_of(64), "{}", t.name);
        assert_eq!(back.tensor_data(t), &data[i][..]);
    }
    // Rewriting what we wrote gives the same bytes again.
    let again = dir.path().join("again.gguf");
    rewrite(&back, &again);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn failures_leave_no_file_and_keep_an_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.gguf");
    std::fs::write(&out, b"previous contents").unwrap();
    let tensors = vec![
        tensor("w", &[64], GgmlType::Q8_0),
        tensor("v", &[32], GgmlType::Q4_0),
    ];

    // The data source fails half way (as an interrupted quantization would).
    let err = write_gguf(&out, &[], &tensors, |i| {
        if i == 0 {
            Ok(vec![0; 68])
        } else {
            Err("stopped".into())
        }
    })
    .unwrap_err();
    assert!(
        matches!(&err, GgufWriteError::Data { tensor, .. } if tensor == "v"),
        "{err}"
    );

    // Wrong data size.
    let err = write_gguf(&out, &[], &tensors, |_| Ok(vec![0; 3])).unwrap_err();
    assert!(
        matches!(
            err,
            GgufWriteError::DataSize {
                expected: 68,
                got: 3,
                ..
            }
        ),
        "{err}"
    );

    // Rows that do not fill whole blocks.
    let err = write_gguf(&out, &[], &[tensor("x", &[576], GgmlType::Q4_K)], |_| {
        Ok(vec![])
    })
    .unwrap_err();
    assert!(matches!(err, GgufWriteError::Shape { .. }), "{err}");
    assert!(err.to_string().contains("576"), "{err}");

    // Metadata that GGUF cannot express.
    let mixed = vec![(
        "k".to_string(),
        MetaValue::Array(vec![MetaValue::U8(1), MetaValue::I8(1)]),
    )];
    let err = write_gguf(&out, &mixed, &[], |_| Ok(vec![])).unwrap_err();
    assert!(matches!(err, GgufWriteError::MixedArray { .. }), "{err}");
    let bad_align = vec![("general.alignment".to_string(), MetaValue::U32(48))];
    let err = write_gguf(&out, &bad_align, &[], |_| Ok(vec![])).unwrap_err();
    assert!(matches!(err, GgufWriteError::BadAlignment(_)), "{err}");

    assert_eq!(std::fs::read(&out).unwrap(), b"previous contents");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

// ANCHOR: kill_test
/// SIGKILL a process that is writing GGUF files over `dest` again and again,
/// at random moments: `dest` is always a complete file, the old one or a new
/// one, never a torn one. (Quantized, pruned, merged and exported GGUFs all
/// go through `write_gguf`.) The test runs itself as the writer: the same
/// test binary, this test only, with `KILL_TEST_DEST` set.
#[test]
fn sigkill_while_writing_leaves_old_or_new_file() {
    const N: usize = 1 << 20; // 4 MiB of F32: long enough to be killed mid-write
    let write = |dest: &Path, version: u32| {
        let metadata = vec![("test.version".to_string(), MetaValue::U32(version))];
        let data = (version as f32).to_le_bytes().repeat(N);
        write_gguf(
            dest,
            &metadata,
            &[tensor("w", &[N as u64], GgmlType::F32)],
            |_| Ok(data.clone()),
        )
        .unwrap();
    };
    if let Some(dest) = std::env::var_os("KILL_TEST_DEST") {
        for version in 1.. {
            write(Path::new(&dest), version);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("model.gguf");
    write(&dest, 0);
    let mut torn_temp_files = 0;
    for trial in 0..6u64 {
        locallm_tests::kill_inside_a_write(
            "sigkill_while_writing_leaves_old_or_new_file",
            [("KILL_TEST_DEST", &dest)],
            dir.path(),
            trial,
            150,
        );
        let file = GgufFile::open(&dest).expect("the destination is a complete GGUF");
        let version = file.metadata.get_u64("test.version").unwrap() as f32;
        let data = file.tensor_data(file.tensor("w").unwrap());
        assert_eq!(data.len(), 4 * N);
        assert!(data.chunks_exact(4).all(|c| c == version.to_le_bytes()));
        torn_temp_files = std::fs::read_dir(dir.path()).unwrap().count() - 1;
    }
    // the kills did land mid-write: they left temporary files behind
    assert!(torn_temp_files > 0, "no kill interrupted a write");
}
// ANCHOR_END: kill_test
