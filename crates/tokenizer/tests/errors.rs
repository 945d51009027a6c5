//! Bad metadata gives typed errors, never panics.

mod common;

use common::metadata;
use locallm_quant::{MetaValue, Metadata};
use locallm_tokenizer::{Tokenizer, TokenizerError};

fn with(f: impl FnOnce(&mut Metadata)) -> Result<Tokenizer, TokenizerError> {
    let mut md = metadata().clone();
    f(&mut md);
    Tokenizer::from_metadata(&md)
}

fn set(md: &mut Metadata, key: &str, value: MetaValue) {
    md.entries.insert(key.to_string(), value);
}

#[test]
fn missing_keys() {
    for key in [
        "tokenizer.ggml.model",
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.merges",
    ] {
        let err = with(|md| {
            md.entries.remove(key);
        })
        .unwrap_err();
        assert!(
            matches!(err, TokenizerError::MissingKey(k) if k == key),
            "{key}: {err}"
        );
    }
}

#[test]
fn unknown_pre_tokenizer_and_model() {
    let err = with(|md| set(md, "tokenizer.ggml.pre", MetaValue::String("qwen9".into())));
    assert!(matches!(err, Err(TokenizerError::UnknownPreTokenizer(ref p)) if p == "qwen9"));
    let err = with(|md| set(md, "tokenizer.ggml.model", MetaValue::String("bert".into())));
    assert!(matches!(err, Err(TokenizerError::UnsupportedModel(ref m)) if m == "bert"));
    // No pre-tokenizer named: llama.cpp's "default" list, not an error.
    let tok = with(|md| {
        md.entries.remove("tokenizer.ggml.pre");
    })
    .unwrap();
    assert_eq!(tok.pre_tokenizer(), Some("default"));
}

#[test]
fn wrong_types() {
    let err = with(|md| set(md, "tokenizer.ggml.tokens", MetaValue::U32(3))).unwrap_err();
    assert!(matches!(
        err,
        TokenizerError::WrongType {
            key: "tokenizer.ggml.tokens",
            ..
        }
    ));
    let err = with(|md| set(md, "tokenizer.ggml.pre", MetaValue::U8(1))).unwrap_err();
    assert!(matches!(
        err,
        TokenizerError::WrongType {
            key: "tokenizer.ggml.pre",
            ..
        }
    ));
    let err = with(|md| set(md, "tokenizer.ggml.eos_token_id", MetaValue::F32(2.0))).unwrap_err();
    assert!(matches!(
        err,
        TokenizerError::WrongType {
            key: "tokenizer.ggml.eos_token_id",
            ..
        }
    ));
    let err = with(|md| set(md, "tokenizer.ggml.add_bos_token", MetaValue::U8(1))).unwrap_err();
    assert!(matches!(err, TokenizerError::WrongType { .. }));
}

#[test]
fn inconsistent_vocabulary() {
    let err = with(|md| {
        set(
            md,
            "tokenizer.ggml.token_type",
            MetaValue::Array(vec![MetaValue::I32(1)]),
        )
    });
    assert!(matches!(
        err,
        Err(TokenizerError::LengthMismatch { got: 1, .. })
    ));

    let err = with(|md| {
        let Some(MetaValue::Array(tokens)) = md.entries.get_mut("tokenizer.ggml.tokens") else {
            unreachable!()
        };
        tokens[100] = tokens[99].clone();
    });
    assert!(matches!(
        err,
        Err(TokenizerError::DuplicateToken {
            first: 99,
            second: 100,
            ..
        })
    ));

    let err = with(|md| {
        let Some(MetaValue::Array(merges)) = md.entries.get_mut("tokenizer.ggml.merges") else {
            unreachable!()
        };
        merges[7] = MetaValue::String("nospace".into());
    });
    assert!(matches!(err, Err(TokenizerError::BadMerge { rank: 7, .. })));
}

#[test]
fn special_ids() {
    // Out of range: ignored, as llama.cpp does ...
    let tok = with(|md| {
        set(
            md,
            "tokenizer.ggml.padding_token_id",
            MetaValue::U32(1_000_000),
        )
    })
    .unwrap();
    assert_eq!(tok.pad_id(), None);
    // ... unless BOS is needed.
    let err = with(|md| {
        set(md, "tokenizer.ggml.add_bos_token", MetaValue::Bool(true));
        set(md, "tokenizer.ggml.bos_token_id", MetaValue::U32(1_000_000));
    });
    assert!(matches!(
        err,
        Err(TokenizerError::SpecialIdOutOfRange { id: 1_000_000, .. })
    ));
    // With BOS wanted and valid, prompts start with it.
    let tok = with(|md| set(md, "tokenizer.ggml.add_bos_token", MetaValue::Bool(true))).unwrap();
    assert_eq!(tok.encode_prompt("hi").unwrap()[0], tok.bos_id().unwrap());
}

#[test]
fn no_chat_template() {
    let tok = with(|md| {
        md.entries.remove("tokenizer.chat_template");
    })
    .unwrap();
    assert!(matches!(
        tok.chat_template(),
        Err(TokenizerError::NoChatTemplate)
    ));
}
