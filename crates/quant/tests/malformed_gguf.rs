//! The GGUF reader on hand-built files: one well-formed file read back in
//! full, then malformed files that must each give a precise `GgufError`
//! (never a panic, never a huge allocation).

use locallm_quant::{GgmlType, GgufError, GgufFile, MetaValue};

// GGUF value types (`enum gguf_type` in ggml's gguf.h).
const U8: u32 = 0;
const I8: u32 = 1;
const U16: u32 = 2;
const I16: u32 = 3;
const U32: u32 = 4;
const I32: u32 = 5;
const F32: u32 = 6;
const BOOL: u32 = 7;
const STRING: u32 = 8;
const ARRAY: u32 = 9;
const U64: u32 = 10;
const I64: u32 = 11;
const F64: u32 = 12;

/// A test-only GGUF writer. It writes whatever it is told, so that single
/// fields can be made wrong.
#[derive(Clone)]
struct Builder {
    magic: [u8; 4],
    version: u32,
    n_tensors: Option<u64>,
    n_kv: Option<u64>,
    kvs: Vec<u8>,
    kv_count: u64,
    infos: Vec<u8>,
    info_count: u64,
    alignment: usize,
    data: Vec<u8>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            magic: *b"GGUF",
            version: 3,
            n_tensors: None,
            n_kv: None,
            kvs: Vec::new(),
            kv_count: 0,
            infos: Vec::new(),
            info_count: 0,
            alignment: 32,
            data: Vec::new(),
        }
    }

    /// A key, a value type and the value's raw bytes.
    fn kv(mut self, key: &str, ty: u32, value: &[u8]) -> Self {
        self.kvs.extend(string(key));
        self.kvs.extend(ty.to_le_bytes());
        self.kvs.extend(value);
        self.kv_count += 1;
        self
    }

    fn alignment(mut self, alignment: u32) -> Self {
        self.alignment = alignment.max(1) as usize; // (0 is tested as invalid)
        self.kv("general.alignment", U32, &alignment.to_le_bytes())
    }

    fn tensor(mut self, name: &str, shape: &[u64], ty: u32, offset: u64) -> Self {
        self.infos.extend(string(name));
        self.infos.extend((shape.len() as u32).to_le_bytes());
        shape
            .iter()
            .for_each(|d| self.infos.extend(d.to_le_bytes()));
        self.infos.extend(ty.to_le_bytes());
        self.infos.extend(offset.to_le_bytes());
        self.info_count += 1;
        self
    }

    fn data(mut self, bytes: &[u8]) -> Self {
        self.data.extend(bytes);
        self
    }

    fn build(&self) -> Vec<u8> {
        let mut b = self.magic.to_vec();
        b.extend(self.version.to_le_bytes());
        b.extend(self.n_tensors.unwrap_or(self.info_count).to_le_bytes());
        b.extend(self.n_kv.unwrap_or(self.kv_count).to_le_bytes());
        b.extend(&self.kvs);
        b.extend(&self.infos);
        b.resize(b.len().next_multiple_of(self.alignment), 0);
        b.extend(&self.data);
        b
    }

    fn parse(&self) -> Result<GgufFile, GgufError> {
        GgufFile::from_bytes(self.build())
    }
}

/// A GGUF string: u64 length, then the bytes.
fn string(s: &str) -> Vec<u8> {
    let mut b = (s.len() as u64).to_le_bytes().to_vec();
    b.extend(s.as_bytes());
    b
}

/// An array value: element type, count, elements.
fn array(elem_ty: u32, len: u64, elems: &[u8]) -> Vec<u8> {
    let mut b = elem_ty.to_le_bytes().to_vec();
    b.extend(len.to_le_bytes());
    b.extend(elems);
    b
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A small valid file: metadata and two tensors, an F32 [2 rows, 4 columns]
/// and a Q8_0 row of 32 (all 2s: scale 2/127, every code 127).
fn sample() -> Builder {
    let mut q8 = half::f16::from_f32(2.0 / 127.0).to_le_bytes().to_vec();
    q8.extend([127u8; 32]);
    Builder::new()
        .kv("general.architecture", STRING, &string("llama"))
        .kv("llama.block_count", U32, &30u32.to_le_bytes())
        .kv(
            "tokenizer.ggml.tokens",
            ARRAY,
            &array(STRING, 2, &[string("a"), string("bc")].concat()),
        )
        .tensor("a.weight", &[4, 2], GgmlType::F32 as u32, 0)
        .tensor("b.weight", &[32], GgmlType::Q8_0 as u32, 32)
        .data(&f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]))
        .data(&q8)
}

fn err(b: &Builder) -> GgufError {
    match b.parse() {
        Ok(_) => panic!("malformed file was accepted"),
        Err(e) => e,
    }
}

#[test]
fn reads_a_well_formed_file() {
    let f = sample().parse().unwrap();
    assert_eq!((f.version, f.alignment, f.tensors.len()), (3, 32, 2));
    assert_eq!(f.metadata.architecture(), Some("llama"));
    assert_eq!(f.metadata.get_u64("llama.block_count"), Some(30));
    assert_eq!(
        f.metadata.get_str_array("tokenizer.ggml.tokens"),
        Some(vec!["a", "bc"])
    );
    assert_eq!(f.data_offset % 32, 0);

    let a = f.tensor("a.weight").unwrap();
    assert_eq!(
        (a.n_elements(), a.n_bytes(), a.shape_row_major()),
        (8, 32, vec![2, 4])
    );
    assert_eq!(
        f.tensor_data(a),
        &f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])[..]
    );
    assert_eq!(
        f.dequantize(a).unwrap(),
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    );

    let b = f.tensor("b.weight").unwrap();
    assert_eq!((b.ggml_type, b.n_bytes()), (GgmlType::Q8_0, 34));
    let d = half::f16::from_f32(2.0 / 127.0).to_f32();
    assert_eq!(f.dequantize(b).unwrap(), vec![127.0 * d; 32]);
    assert!(f.tensor("missing").is_none());
}

#[test]
fn reads_every_value_type_and_nested_arrays() {
    let nested = array(
        ARRAY,
        2,
        &[array(I16, 1, &(-3i16).to_le_bytes()), array(I16, 0, &[])].concat(),
    );
    let f = Builder::new()
        .alignment(64)
        .kv("u8", U8, &[200])
        .kv("i8", I8, &(-5i8).to_le_bytes())
        .kv("u16", U16, &60000u16.to_le_bytes())
        .kv("i16", I16, &(-300i16).to_le_bytes())
        .kv("u32", U32, &4_000_000_000u32.to_le_bytes())
        .kv("i32", I32, &(-70000i32).to_le_bytes())
        .kv("f32", F32, &1.5f32.to_le_bytes())
        .kv("bool", BOOL, &[1])
        .kv("string", STRING, &string("héllo"))
        .kv("u64", U64, &u64::MAX.to_le_bytes())
        .kv("i64", I64, &i64::MIN.to_le_bytes())
        .kv("f64", F64, &0.1f64.to_le_bytes())
        .kv("nested", ARRAY, &nested)
        .tensor("t", &[2], GgmlType::F16 as u32, 0)
        .data(&[0x00, 0x3c, 0x00, 0xc0])
        .parse()
        .unwrap();
    use MetaValue as V;
    let m = &f.metadata;
    assert_eq!(m.get("u8"), Some(&V::U8(200)));
    assert_eq!(m.get("i8"), Some(&V::I8(-5)));
    assert_eq!(m.get("u16"), Some(&V::U16(60000)));
    assert_eq!(m.get("i16"), Some(&V::I16(-300)));
    assert_eq!(m.get("u32"), Some(&V::U32(4_000_000_000)));
    assert_eq!(m.get("i32"), Some(&V::I32(-70000)));
    assert_eq!(m.get("f32"), Some(&V::F32(1.5)));
    assert_eq!(m.get_bool("bool"), Some(true));
    assert_eq!(m.get_str("string"), Some("héllo"));
    assert_eq!(m.get_u64("u64"), Some(u64::MAX));
    assert_eq!(m.get("i64"), Some(&V::I64(i64::MIN)));
    assert_eq!(m.get_f64("f64"), Some(0.1));
    let expected = V::Array(vec![V::Array(vec![V::I16(-3)]), V::Array(vec![])]);
    assert_eq!(m.get("nested"), Some(&expected));
    assert_eq!(f.alignment, 64);
    assert_eq!(f.data_offset % 64, 0);
    assert_eq!(f.dequantize(&f.tensors[0]).unwrap(), vec![1.0, -2.0]);
}

/// A file downloaded in another format says which, and how to convert it.
#[test]
fn other_formats_are_named() {
    let looks_like = |bytes: Vec<u8>| match GgufFile::from_bytes(bytes) {
        Err(e @ GgufError::NotGguf { .. }) => e.to_string(),
        other => panic!("{other:?}"),
    };
    // what the `safetensors` crate writes
    let data = [0u8; 8];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &data).unwrap();
    let st = safetensors::serialize([("w", view)], None).unwrap();
    assert!(looks_like(st).contains("safetensors"), "safetensors");
    // PyTorch's zip checkpoints, older pickles, and ggml's own older formats
    let zip = looks_like(b"PK\x03\x04rest of a zip".to_vec());
    assert!(
        zip.contains("zip") && zip.contains("convert_hf_to_gguf.py"),
        "{zip}"
    );
    assert!(looks_like(b"\x80\x02}q\x00(X".to_vec()).contains("pickle"));
    for magic in [b"lmgg", b"fmgg", b"tjgg"] {
        let old = looks_like([&magic[..], &[0u8; 16]].concat());
        assert!(old.contains("convert_llama_ggml_to_gguf.py"), "{old}");
    }
    // and anything else is just not GGUF
    let text = looks_like(b"[workspace]\n".to_vec());
    assert!(!text.contains("looks like"), "{text}");
}

#[test]
fn wrong_magic() {
    let mut b = sample();
    b.magic = *b"GGML";
    assert!(matches!(err(&b), GgufError::NotGguf { found, .. } if found == b"GGML"));
    assert!(matches!(
        GgufFile::from_bytes(b"PK".to_vec()),
        Err(GgufError::NotGguf { .. })
    ));
    assert!(matches!(
        GgufFile::from_bytes(b"GG".to_vec()),
        Err(GgufError::Truncated { what: "magic", .. })
    ));
    assert!(matches!(
        GgufFile::from_bytes(Vec::new()),
        Err(GgufError::Truncated { .. })
    ));
}

#[test]
fn unsupported_versions() {
    for (version, expected) in [(1, "UnsupportedVersion(1)"), (4, "UnsupportedVersion(4)")] {
        let b = Builder {
            version,
            ..sample()
        };
        assert_eq!(format!("{:?}", err(&b)), expected);
    }
    // A big-endian v3 file reads as version 0x03000000 on a little-endian machine.
    let b = Builder {
        version: 3u32.swap_bytes(),
        ..sample()
    };
    assert!(matches!(err(&b), GgufError::BigEndian(_)));
    assert!(err(&b).to_string().contains("big-endian"));
}

#[test]
fn truncated_at_every_length() {
    let full = sample().build();
    for len in 0..full.len() {
        let e =
            GgufFile::from_bytes(full[..len].to_vec()).expect_err("truncated file was accepted");
        assert!(
            // Counts are checked against the bytes left before they are read.
            matches!(
                e,
                GgufError::Truncated { .. }
                    | GgufError::CountTooLarge { .. }
                    | GgufError::ArrayTooLong { .. }
                    | GgufError::TensorOutOfBounds { .. }
            ),
            "cut at {len}: {e:?}"
        );
    }
    // Header (24 bytes), then a key of length 12 of which only 5 bytes are left.
    let one_kv = Builder::new()
        .kv("general.name", STRING, &string("x"))
        .build();
    let e = GgufFile::from_bytes(one_kv[..37].to_vec()).unwrap_err();
    assert!(
        matches!(
            e,
            GgufError::Truncated {
                what: "metadata key",
                offset: 32,
                needed: 12,
                available: 5
            }
        ),
        "{e:?}"
    );
}

#[test]
fn absurd_counts_are_refused_before_allocating() {
    let b = Builder {
        n_tensors: Some(u64::MAX),
        ..sample()
    };
    assert!(matches!(
        err(&b),
        GgufError::CountTooLarge {
            what: "tensors",
            count: u64::MAX,
            ..
        }
    ));
    let b = Builder {
        n_kv: Some(1 << 40),
        ..sample()
    };
    assert!(matches!(
        err(&b),
        GgufError::CountTooLarge {
            what: "metadata entries",
            ..
        }
    ));
    let b = Builder::new().kv("tokens", ARRAY, &array(STRING, u64::MAX / 2, &[]));
    let e = err(&b);
    assert!(
        matches!(&e, GgufError::ArrayTooLong { key, .. } if key == "tokens"),
        "{e:?}"
    );
}

#[test]
fn string_longer_than_the_file() {
    let mut value = (u64::MAX - 3).to_le_bytes().to_vec();
    value.extend(b"abc");
    let e = err(&Builder::new().kv("general.name", STRING, &value));
    assert!(
        matches!(e, GgufError::Truncated { what: "string value", needed, .. } if needed == u64::MAX - 3)
    );

    // A key whose length runs past the end.
    let mut b = Builder::new();
    b.kvs.extend(1000u64.to_le_bytes());
    b.kvs.extend(b"short");
    b.kv_count = 1;
    assert!(matches!(
        err(&b),
        GgufError::Truncated {
            what: "metadata key",
            needed: 1000,
            ..
        }
    ));
}

#[test]
fn unknown_value_types() {
    let e = err(&sample().kv("x", 13, &[0; 8]));
    assert!(matches!(&e, GgufError::UnknownValueType { key, ty: 13 } if key == "x"));
    assert!(e.to_string().contains("\"x\""), "{e}");
    let e = err(&sample().kv("y", ARRAY, &array(99, 1, &[0; 8])));
    assert!(matches!(e, GgufError::UnknownValueType { ty: 99, .. }));
}

#[test]
fn bad_values() {
    assert!(matches!(
        err(&sample().kv("b", BOOL, &[2])),
        GgufError::InvalidBool { value: 2, .. }
    ));
    let mut bad_utf8 = 2u64.to_le_bytes().to_vec();
    bad_utf8.extend([0xff, 0xfe]);
    let e = err(&sample().kv("s", STRING, &bad_utf8));
    assert!(matches!(
        e,
        GgufError::InvalidUtf8 {
            what: "string value"
        }
    ));
    assert!(matches!(
        err(&sample().kv("", U8, &[0])),
        GgufError::EmptyKey { index: 3 }
    ));
}

#[test]
fn arrays_nested_too_deep() {
    let mut value = array(U8, 0, &[]);
    for _ in 0..20 {
        value = array(ARRAY, 1, &value);
    }
    let e = err(&Builder::new().kv("deep", ARRAY, &value));
    assert!(
        matches!(e, GgufError::NestingTooDeep { max: 8, .. }),
        "{e:?}"
    );
}

#[test]
fn duplicate_keys_and_tensor_names() {
    let e = err(&sample().kv("llama.block_count", U32, &1u32.to_le_bytes()));
    assert!(matches!(&e, GgufError::DuplicateKey(k) if k == "llama.block_count"));
    let e = err(&sample()
        .tensor("a.weight", &[8], GgmlType::F32 as u32, 96)
        .data(&[0; 64]));
    assert!(matches!(&e, GgufError::DuplicateTensor(n) if n == "a.weight"));
}

#[test]
fn bad_alignment() {
    assert!(matches!(
        err(&sample().alignment(48)),
        GgufError::BadAlignment(48)
    ));
    assert!(matches!(
        err(&sample().alignment(0)),
        GgufError::BadAlignment(0)
    ));
    let e = err(&sample().kv("general.alignment", U64, &32u64.to_le_bytes()));
    assert!(matches!(e, GgufError::AlignmentType { found: "u64" }));
}

#[test]
fn bad_dimensions() {
    let t = |shape: &[u64]| {
        sample()
            .tensor("c", shape, GgmlType::F32 as u32, 96)
            .data(&[0; 64])
    };
    assert!(matches!(
        err(&t(&[1, 1, 1, 1, 1])),
        GgufError::BadDimCount { n_dims: 5, .. }
    ));
    assert!(matches!(
        err(&t(&[])),
        GgufError::BadDimCount { n_dims: 0, .. }
    ));
    assert!(matches!(err(&t(&[4, 0])), GgufError::ZeroDim { .. }));
    let e = err(&t(&[1 << 32, 1 << 32]));
    assert!(
        matches!(&e, GgufError::ElementCountOverflow { tensor, .. } if tensor == "c"),
        "{e:?}"
    );
    // Fits in u64 elements, but not in bytes.
    assert!(matches!(
        err(&t(&[1 << 62])),
        GgufError::ElementCountOverflow { .. }
    ));
    // The count fits, but the data is not in the file.
    assert!(matches!(
        err(&t(&[1 << 20, 1 << 20])),
        GgufError::TensorOutOfBounds { .. }
    ));
}

#[test]
fn unknown_tensor_type() {
    for ty in [4, 31, 43, 1000] {
        let e = err(&sample().tensor("c", &[32], ty, 96).data(&[0; 64]));
        assert!(
            matches!(&e, GgufError::UnknownTensorType { tensor, ty: t } if tensor == "c" && *t == ty)
        );
    }
}

#[test]
fn rows_must_be_whole_blocks() {
    let e = err(&sample()
        .tensor("c", &[16, 2], GgmlType::Q4_1 as u32, 96)
        .data(&[0; 64]));
    assert!(matches!(
        e,
        GgufError::PartialBlock {
            ty: GgmlType::Q4_1,
            row: 16,
            block_size: 32,
            ..
        }
    ));
}

#[test]
fn tensor_data_beyond_eof() {
    let e = err(&sample()
        .tensor("c", &[32], GgmlType::F32 as u32, 96)
        .data(&[0; 64]));
    assert!(
        matches!(&e, GgufError::TensorOutOfBounds { tensor, offset: 96, n_bytes: 128, .. } if tensor == "c")
    );
    let e = err(&sample().tensor("c", &[8], GgmlType::F32 as u32, u64::MAX - 31));
    assert!(matches!(e, GgufError::TensorOutOfBounds { .. }), "{e:?}");
}

#[test]
fn misaligned_and_overlapping_tensors() {
    let e = err(&sample()
        .tensor("c", &[4], GgmlType::F32 as u32, 70)
        .data(&[0; 64]));
    assert!(matches!(
        e,
        GgufError::MisalignedTensor {
            offset: 70,
            alignment: 32,
            ..
        }
    ));
    // b.weight occupies [32, 66); c at 64 starts inside it.
    let e = err(&sample()
        .tensor("c", &[4], GgmlType::F32 as u32, 64)
        .data(&[0; 64]));
    assert!(
        matches!(&e, GgufError::OverlappingTensors { first, second } if first == "b.weight" && second == "c")
    );
}

#[test]
fn unsupported_tensor_types_parse_but_do_not_dequantize() {
    let f = Builder::new()
        .tensor("k", &[256], GgmlType::IQ2_XXS as u32, 0)
        .data(&[0; 66])
        .parse()
        .unwrap();
    let e = f.dequantize(&f.tensors[0]).unwrap_err();
    assert!(matches!(e, GgufError::Quant { .. }));
    assert!(e.to_string().contains("iq2_xxs"), "{e}");
}

#[test]
fn foreign_tensor_info_is_an_error_not_a_panic() {
    let f = sample().parse().unwrap();
    let mut t = f.tensors[0].clone();
    t.offset = 1 << 40;
    assert!(f.tensor_data(&t).is_empty());
    assert!(matches!(
        f.dequantize(&t),
        Err(GgufError::TensorOutOfBounds { .. })
    ));
}

#[test]
fn corrupting_any_byte_never_panics() {
    let full = sample().build();
    for i in 0..full.len() {
        for v in [0x00, 0x7f, 0xff] {
            let mut bytes = full.clone();
            bytes[i] = v;
            if let Ok(f) = GgufFile::from_bytes(bytes) {
                for t in &f.tensors {
                    let _ = f.dequantize(t);
                }
            }
        }
    }
}

#[test]
fn missing_file_is_an_io_error() {
    let e = GgufFile::open("/nonexistent/model.gguf").unwrap_err();
    assert!(matches!(e, GgufError::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/model.gguf"));
}
