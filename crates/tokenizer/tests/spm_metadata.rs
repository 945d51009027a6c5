//! A SentencePiece vocabulary from GGUF metadata: what llama.cpp assumes
//! where the file is silent (space prefix, BOS/EOS/UNK ids, BOS added), what
//! the file can override, and typed errors for bad scores.

use locallm_quant::{MetaValue, Metadata};
use locallm_tokenizer::{Tokenizer, TokenizerError};

/// `<unk> <s> </s>`, two byte tokens, and a few scored pieces.
fn metadata() -> Metadata {
    let tokens = [
        "<unk>", "<s>", "</s>", "<0x0A>", "<0x21>", "▁", "H", "i", "▁H", "▁Hi", "Hi",
    ];
    let types = [2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1];
    let scores = [0.0, 0.0, 0.0, 0.0, 0.0, -5.0, -6.0, -6.0, -3.0, -1.0, -2.0];
    let mut md = Metadata::default();
    let put = |md: &mut Metadata, k: &str, v| {
        md.entries.insert(k.to_string(), v);
    };
    put(
        &mut md,
        "tokenizer.ggml.model",
        MetaValue::String("llama".into()),
    );
    put(
        &mut md,
        "tokenizer.ggml.tokens",
        MetaValue::Array(tokens.map(|t| MetaValue::String(t.into())).to_vec()),
    );
    put(
        &mut md,
        "tokenizer.ggml.token_type",
        MetaValue::Array(types.map(MetaValue::I32).to_vec()),
    );
    put(
        &mut md,
        "tokenizer.ggml.scores",
        MetaValue::Array(scores.map(MetaValue::F32).to_vec()),
    );
    md
}

fn texts(tok: &Tokenizer, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .map(|&i| tok.token_text(i).unwrap().to_string())
        .collect()
}

#[test]
fn llama_cpp_defaults_where_the_file_is_silent() {
    let tok = Tokenizer::from_metadata(&metadata()).unwrap();
    assert_eq!(tok.model_kind(), "llama");
    assert_eq!(
        (tok.unk_id(), tok.bos_id(), tok.eos_id()),
        (Some(0), Some(1), Some(2))
    );
    assert!(tok.add_bos_token());
    // A space is prefixed at the start and after a special token; "!\n" has
    // no piece, so it falls back to bytes.
    let ids = tok.encode_prompt("Hi!\n</s>Hi").unwrap();
    assert_eq!(
        texts(&tok, &ids),
        ["<s>", "▁Hi", "<0x21>", "<0x0A>", "</s>", "▁Hi"]
    );
    assert_eq!(tok.decode(&ids).unwrap(), "<s> Hi!\n</s> Hi");
}

#[test]
fn the_file_overrides_the_defaults() {
    let mut md = metadata();
    for (k, v) in [
        ("tokenizer.ggml.add_space_prefix", MetaValue::Bool(false)),
        ("tokenizer.ggml.add_bos_token", MetaValue::Bool(false)),
        ("tokenizer.ggml.bos_token_id", MetaValue::U32(2)),
        ("tokenizer.ggml.eos_token_id", MetaValue::U32(1)),
    ] {
        md.entries.insert(k.to_string(), v);
    }
    let tok = Tokenizer::from_metadata(&md).unwrap();
    assert_eq!((tok.bos_id(), tok.eos_id()), (Some(2), Some(1)));
    assert_eq!(texts(&tok, &tok.encode_prompt("Hi").unwrap()), ["Hi"]);
    // Integer scores are accepted, as llama.cpp accepts int32 arrays.
    let mut md = metadata();
    let ints = [0, 0, 0, 0, 0, -5, -6, -6, -3, -1, -2]
        .map(MetaValue::I32)
        .to_vec();
    md.entries
        .insert("tokenizer.ggml.scores".into(), MetaValue::Array(ints));
    let tok = Tokenizer::from_metadata(&md).unwrap();
    assert_eq!(texts(&tok, &tok.encode("Hi", false).unwrap()), ["▁Hi"]);
}

#[test]
fn bad_scores_are_typed_errors() {
    let mut md = metadata();
    md.entries.insert(
        "tokenizer.ggml.scores".into(),
        MetaValue::Array(vec![MetaValue::F32(0.0); 3]),
    );
    let err = Tokenizer::from_metadata(&md).unwrap_err();
    assert!(
        matches!(
            err,
            TokenizerError::LengthMismatch {
                got: 3,
                expected: 11,
                ..
            }
        ),
        "{err}"
    );
    md.entries.insert(
        "tokenizer.ggml.scores".into(),
        MetaValue::String("high".into()),
    );
    let err = Tokenizer::from_metadata(&md).unwrap_err();
    assert!(
        matches!(
            err,
            TokenizerError::WrongType {
                key: "tokenizer.ggml.scores",
                ..
            }
        ),
        "{err}"
    );
}
