//! Reading the tokenizer out of GGUF metadata (the `tokenizer.*` keys).

use crate::bpe::Bpe;
use crate::bytes::ByteMap;
use crate::decode::{piece_bytes, spm_piece_bytes};
use crate::pretokenize::{self, PreTokenizer};
use crate::special::{SpecialTokens, TokenType};
use crate::spm::Spm;
use crate::{Model, TokenId, Tokenizer, TokenizerError};
use locallm_quant::{MetaValue, Metadata};
use std::collections::HashMap;

/// Texts that end a turn, besides EOS. llama.cpp keeps the same kind of list
/// (`special_eog_ids`): chat models stop at their end-of-turn marker, which
/// is often not the EOS token.
const END_OF_TURN: &[&str] = &[
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end|>",
    "<end_of_turn>",
    "<|end_of_text|>",
];

pub(crate) fn from_metadata(md: &Metadata) -> Result<Tokenizer, TokenizerError> {
    let kind = string(md, "tokenizer.ggml.model")?
        .ok_or(TokenizerError::MissingKey("tokenizer.ggml.model"))?;
    if kind != "gpt2" && kind != "llama" {
        return Err(TokenizerError::UnsupportedModel(kind.to_string()));
    }

    let vocab: Vec<String> = string_array(md, "tokenizer.ggml.tokens")?;
    // Ids are u32 (TokenId::MAX itself is kept free, see bpe.rs).
    let n_tokens = TokenId::try_from(vocab.len())
        .ok()
        .filter(|&n| n < TokenId::MAX)
        .ok_or(TokenizerError::TooManyTokens(vocab.len()))?;
    let mut token_ids = HashMap::with_capacity(vocab.len());
    for (id, text) in (0..n_tokens).zip(&vocab) {
        if let Some(first) = token_ids.insert(text.clone(), id) {
            return Err(TokenizerError::DuplicateToken {
                text: text.clone(),
                first,
                second: id,
            });
        }
    }
    let types = token_types(md, vocab.len())?;

    // ANCHOR: two_models
    // The defaults are llama.cpp's for each kind, used where the file is silent.
    let (model, pieces, add_bos_default) = if kind == "gpt2" {
        // No name: llama.cpp warns and uses its "default" list.
        let pre_name = string(md, "tokenizer.ggml.pre")?.unwrap_or("default");
        let pre = PreTokenizer::from_name(pre_name)?;
        let merges = string_array(md, "tokenizer.ggml.merges")?;
        let merges: Vec<&str> = merges.iter().map(String::as_str).collect();
        let bytes = ByteMap::new();
        let bpe = Bpe::new(&token_ids, &merges, &bytes)?;
        let pieces = vocab
            .iter()
            .zip(&types)
            .map(|(text, &ty)| piece_bytes(text, ty, &bytes))
            .collect();
        let model = Model::Bpe {
            pre,
            bpe,
            bytes,
            ignore_merges: pretokenize::ignores_merges(pre_name),
        };
        (model, pieces, pretokenize::adds_bos_by_default(pre_name))
    } else {
        let spm = Spm::new(&token_ids, scores(md, vocab.len())?);
        let pieces = vocab
            .iter()
            .zip(&types)
            .map(|(text, &ty)| spm_piece_bytes(text, ty))
            .collect();
        let add_space_prefix = flag(md, "tokenizer.ggml.add_space_prefix", true)?;
        let model = Model::Spm {
            spm,
            add_space_prefix,
        };
        (model, pieces, true)
    };
    // ANCHOR_END: two_models

    let mut special = SpecialTokens::new(&vocab, &types);
    // Phi-3's special tokens eat the whitespace after them: llama.cpp sets
    // LLAMA_TOKEN_ATTR_RSTRIP by model name (`llama_vocab::impl::load`).
    let name = string(md, "general.name")?.unwrap_or("").to_lowercase();
    if name.contains("phi-3") || name.contains("phi3") {
        special.set_rstrip(|text| !matches!(text, "<unk>" | "<s>" | "<|endoftext|>"));
    }

    let id = |key| special_id(md, key, vocab.len());
    // SentencePiece files without the keys use ids 1, 2 and 0 (llama.cpp).
    let spm_default =
        |default: TokenId| (kind == "llama" && (default as usize) < vocab.len()).then_some(default);
    let (bos, eos) = (
        id("tokenizer.ggml.bos_token_id")?.or(spm_default(1)),
        id("tokenizer.ggml.eos_token_id")?.or(spm_default(2)),
    );
    let (unk, pad) = (
        id("tokenizer.ggml.unknown_token_id")?.or(spm_default(0)),
        id("tokenizer.ggml.padding_token_id")?,
    );

    let add_bos = flag(md, "tokenizer.ggml.add_bos_token", add_bos_default)?;
    if add_bos && bos.is_none() {
        const KEY: &str = "tokenizer.ggml.bos_token_id";
        return Err(match md.get(KEY).and_then(MetaValue::as_i64) {
            Some(id) => TokenizerError::SpecialIdOutOfRange {
                key: KEY,
                id,
                vocab_size: vocab.len(),
            },
            None => TokenizerError::MissingKey(KEY),
        });
    }

    let mut stop_tokens: Vec<TokenId> = [
        eos,
        id("tokenizer.ggml.eot_token_id")?,
        id("tokenizer.ggml.eom_token_id")?,
    ]
    .into_iter()
    .flatten()
    .chain(
        special
            .iter()
            .filter(|(_, text)| END_OF_TURN.contains(text))
            .map(|(id, _)| id),
    )
    .collect();
    stop_tokens.sort_unstable();
    stop_tokens.dedup();

    let chat_template = string(md, "tokenizer.chat_template")?.map(String::from);

    Ok(Tokenizer {
        vocab,
        types,
        token_ids,
        pieces,
        model,
        special,
        bos,
        eos,
        unk,
        pad,
        add_bos,
        stop_tokens,
        chat_template,
    })
}

/// A string value: `None` if absent, an error if present with another type.
fn string<'m>(md: &'m Metadata, key: &'static str) -> Result<Option<&'m str>, TokenizerError> {
    md.get(key)
        .map(|v| {
            v.as_str().ok_or(TokenizerError::WrongType {
                key,
                expected: "string",
            })
        })
        .transpose()
}

/// A boolean key, `default` if absent.
fn flag(md: &Metadata, key: &'static str, default: bool) -> Result<bool, TokenizerError> {
    match md.get(key) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or(TokenizerError::WrongType {
            key,
            expected: "bool",
        }),
    }
}

/// `tokenizer.ggml.scores`, one per token; all 0 if absent (llama.cpp).
fn scores(md: &Metadata, n_tokens: usize) -> Result<Vec<f32>, TokenizerError> {
    per_token(
        md,
        "tokenizer.ggml.scores",
        n_tokens,
        "array of numbers",
        0.0,
        |v| {
            // llama.cpp takes float32 or int32 scores.
            let x = v.as_f64().or_else(|| v.as_i64().map(|i| i as f64));
            x.map(|x| x as f32)
        },
    )
}

/// A required array of strings.
fn string_array(md: &Metadata, key: &'static str) -> Result<Vec<String>, TokenizerError> {
    let values = md.get(key).ok_or(TokenizerError::MissingKey(key))?;
    let wrong = || TokenizerError::WrongType {
        key,
        expected: "array of strings",
    };
    values
        .as_array()
        .ok_or_else(wrong)?
        .iter()
        .map(|v| v.as_str().map(String::from).ok_or_else(wrong))
        .collect()
}

/// `tokenizer.ggml.token_type`, one per token; all NORMAL if absent.
fn token_types(md: &Metadata, n_tokens: usize) -> Result<Vec<TokenType>, TokenizerError> {
    per_token(
        md,
        "tokenizer.ggml.token_type",
        n_tokens,
        "array of integers",
        TokenType::Normal,
        |v| v.as_i64().map(TokenType::from_gguf),
    )
}

/// An array with one value per token, each read by `read`; `default` for
/// every token if the key is absent. Like llama.cpp: more entries than
/// tokens are ignored, fewer are an error.
fn per_token<T: Clone>(
    md: &Metadata,
    key: &'static str,
    n_tokens: usize,
    expected: &'static str,
    default: T,
    read: impl Fn(&MetaValue) -> Option<T>,
) -> Result<Vec<T>, TokenizerError> {
    let Some(values) = md.get(key) else {
        return Ok(vec![default; n_tokens]);
    };
    let wrong = || TokenizerError::WrongType { key, expected };
    let values = values.as_array().ok_or_else(wrong)?;
    if values.len() < n_tokens {
        return Err(TokenizerError::LengthMismatch {
            key,
            got: values.len(),
            expected: n_tokens,
        });
    }
    values[..n_tokens]
        .iter()
        .map(|v| read(v).ok_or_else(wrong))
        .collect()
}

/// An optional special-token id. Like llama.cpp, an id outside the
/// vocabulary is ignored (llama.cpp logs "bad special token").
fn special_id(
    md: &Metadata,
    key: &'static str,
    n_tokens: usize,
) -> Result<Option<TokenId>, TokenizerError> {
    let Some(value) = md.get(key) else {
        return Ok(None);
    };
    let id = value.as_i64().ok_or(TokenizerError::WrongType {
        key,
        expected: "integer",
    })?;
    Ok(usize::try_from(id)
        .ok()
        .filter(|&id| id < n_tokens)
        .map(|id| id as TokenId))
}
