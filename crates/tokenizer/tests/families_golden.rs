//! Two more vocabularies against llama.cpp's `llama-tokenize`, on the same
//! corpus as SmolLM2's (goldens in tests/golden/tokenizer/{gemma3,llama3},
//! written by scripts/golden_tokenizer_families.sh):
//!
//! - Gemma 3's: SentencePiece (`tokenizer.ggml.model = llama`), 262,144
//!   tokens, read from the real Gemma 3 270M GGUF, which the registry fetches
//!   into the cache on first use (253 MB; the architecture tests use the same
//!   file, so CI downloads it once);
//! - Llama 3.2's: byte-level BPE with the `llama-bpe` split, 128,257 tokens,
//!   from the `tokenizer.json` the registry fetches (9 MB), turned into GGUF
//!   metadata here the way the golden script turns it into a vocab-only GGUF
//!   for llama.cpp; also checked against Hugging Face `tokenizers` reading
//!   that `tokenizer.json` itself.

mod common;

use common::{check_llamacpp_goldens, corpus, first_difference, golden_dir, ids};
use locallm_quant::{GgufFile, MetaValue, Metadata};
use locallm_tokenizer::{TokenType, Tokenizer};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

fn gemma3() -> &'static Tokenizer {
    static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        let path = locallm_models::ensure(&locallm_models::GEMMA3_270M_Q4_K_M).expect("Gemma 3");
        let gguf = GgufFile::open(&path).expect("open GGUF");
        Tokenizer::from_metadata(&gguf.metadata).expect("Gemma 3 tokenizer")
    })
}

fn llama3_json() -> PathBuf {
    locallm_models::ensure(&locallm_models::LLAMA3_TOKENIZER).expect("Llama 3.2 tokenizer.json")
}

/// The GGUF metadata llama.cpp's converter writes for Llama 3's tokenizer
/// (what scripts/golden_tokenizer_families.py writes with gguf-py): the BPE
/// vocabulary plus the added tokens (special ones CONTROL), the merges,
/// BOS/EOS, `llama-bpe`, BOS added to prompts.
fn llama3_metadata(tokenizer_json: &Value) -> Metadata {
    let model = &tokenizer_json["model"];
    let mut tokens: Vec<Option<String>> = Vec::new();
    let mut types: Vec<i64> = Vec::new();
    let mut put = |id: u64, text: &str, ty: TokenType| {
        let id = id as usize;
        if tokens.len() <= id {
            tokens.resize(id + 1, None);
            types.resize(id + 1, 0);
        }
        tokens[id] = Some(text.to_string());
        types[id] = match ty {
            TokenType::Control => 3,
            TokenType::UserDefined => 4,
            _ => 1,
        };
    };
    for (text, id) in model["vocab"].as_object().unwrap() {
        put(id.as_u64().unwrap(), text, TokenType::Normal);
    }
    let mut bos = None;
    let mut eos = None;
    for t in tokenizer_json["added_tokens"].as_array().unwrap() {
        let (id, text) = (t["id"].as_u64().unwrap(), t["content"].as_str().unwrap());
        let ty = if t["special"].as_bool().unwrap() {
            TokenType::Control
        } else {
            TokenType::UserDefined
        };
        put(id, text, ty);
        match text {
            "<|begin_of_text|>" => bos = Some(id),
            "<|end_of_text|>" => eos = Some(id),
            _ => {}
        }
    }
    let tokens: Vec<MetaValue> = tokens
        .into_iter()
        .map(|t| MetaValue::String(t.expect("token ids have no gaps")))
        .collect();
    let merges: Vec<MetaValue> = model["merges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| match m {
            Value::String(s) => MetaValue::String(s.clone()),
            pair => MetaValue::String(format!(
                "{} {}",
                pair[0].as_str().unwrap(),
                pair[1].as_str().unwrap()
            )),
        })
        .collect();
    let s = |v: &str| MetaValue::String(v.to_string());
    let mut md = Metadata::default();
    for (key, value) in [
        ("general.name", s("Llama 3.2 tokenizer")),
        ("tokenizer.ggml.model", s("gpt2")),
        ("tokenizer.ggml.pre", s("llama-bpe")),
        ("tokenizer.ggml.tokens", MetaValue::Array(tokens)),
        (
            "tokenizer.ggml.token_type",
            MetaValue::Array(
                types
                    .into_iter()
                    .map(|t| MetaValue::I32(t as i32))
                    .collect(),
            ),
        ),
        ("tokenizer.ggml.merges", MetaValue::Array(merges)),
        (
            "tokenizer.ggml.bos_token_id",
            MetaValue::U32(bos.unwrap() as u32),
        ),
        (
            "tokenizer.ggml.eos_token_id",
            MetaValue::U32(eos.unwrap() as u32),
        ),
        ("tokenizer.ggml.add_bos_token", MetaValue::Bool(true)),
    ] {
        md.entries.insert(key.to_string(), value);
    }
    md
}

fn llama3_tokenizer_json() -> &'static Value {
    static JSON: OnceLock<Value> = OnceLock::new();
    JSON.get_or_init(|| {
        serde_json::from_str(&std::fs::read_to_string(llama3_json()).unwrap()).unwrap()
    })
}

fn llama3() -> &'static Tokenizer {
    static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        Tokenizer::from_metadata(&llama3_metadata(llama3_tokenizer_json()))
            .expect("Llama 3 tokenizer")
    })
}

/// Short prompts tokenized as prompts (BOS by the model's rule, special
/// tokens parsed), as `llama-tokenize` without `--no-bos` does.
fn check_prompts(tok: &Tokenizer, sub: &str) {
    let path = golden_dir().join(sub).join("prompts.json");
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        tok.add_bos_token(),
        golden["add_bos_token"].as_bool().unwrap()
    );
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let prompt = case["prompt"].as_str().unwrap();
        let ours = tok.encode_prompt(prompt).unwrap();
        if let Some(diff) = first_difference(tok, &ours, &ids(&case["ids"])) {
            panic!("{prompt:?}: {diff}");
        }
    }
}

#[test]
fn gemma3_ids_match_llama_tokenize() {
    check_llamacpp_goldens(gemma3(), "gemma3");
    check_prompts(gemma3(), "gemma3");
}

#[test]
fn gemma3_is_sentencepiece_with_its_metadata_rules() {
    let tok = gemma3();
    assert_eq!(tok.model_kind(), "llama");
    assert_eq!(tok.pre_tokenizer(), None);
    assert_eq!(tok.vocab_size(), 262_144);
    // <bos> = 2, <eos> = 1, as the file says (not SentencePiece's defaults 1, 2).
    assert_eq!((tok.bos_id(), tok.eos_id()), (Some(2), Some(1)));
    assert!(tok.add_bos_token());
    // <end_of_turn> ends a turn.
    assert!(tok.is_stop(tok.token_id("<end_of_turn>").unwrap()));
    // Spaces are `▁`; a character with no token of its own is its bytes.
    let ids = tok.encode("a b", false).unwrap();
    let texts: Vec<&str> = ids.iter().map(|&i| tok.token_text(i).unwrap()).collect();
    assert_eq!(texts, ["a", "▁b"]);
    // Decoding gives the text back exactly (no space prefix to strip: the
    // file sets add_space_prefix = false), byte-fallback pieces included.
    for (name, text) in corpus() {
        let ids = tok.encode(&text, true).unwrap();
        assert_eq!(tok.decode(&ids).unwrap(), text, "{name}");
    }
}

#[test]
fn llama3_ids_match_llama_tokenize() {
    check_llamacpp_goldens(llama3(), "llama3");
    check_prompts(llama3(), "llama3");
    assert_eq!(llama3().vocab_size(), 128_257);
    assert_eq!(llama3().pre_tokenizer(), Some("llama-bpe"));
}

#[test]
fn llama3_ids_match_hf_tokenizers() {
    // This tokenizer.json predates HF's `ignore_merges` option and says
    // false; Meta's later Llama 3 files say true, and llama.cpp forces it
    // for `llama-bpe` (a word that is a token is taken whole: ` Việt`, not
    // ` Vi` `ệ` `t`). Compare like with like.
    let mut json = llama3_tokenizer_json().clone();
    json["model"]["ignore_merges"] = true.into();
    let hf: tokenizers::Tokenizer = json.to_string().parse().expect("HF tokenizer");
    common::check_hf_corpus(llama3(), &hf);
}
