//! The fast BPE (priority queue, as in llama.cpp) gives exactly the tokens
//! of the plain definition (rescan all pairs each step), with the real
//! SmolLM2 merges, on every word of the corpus and on long runs.

mod common;

use common::{corpus, metadata, tokenizer};
use locallm_tokenizer::bpe::Bpe;
use locallm_tokenizer::bytes::ByteMap;
use locallm_tokenizer::pretokenize::PreTokenizer;
use std::collections::HashMap;

fn real_bpe() -> Bpe {
    let md = metadata();
    let tokens = md.get_str_array("tokenizer.ggml.tokens").unwrap();
    let ids: HashMap<String, u32> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), i as u32))
        .collect();
    let merges = md.get_str_array("tokenizer.ggml.merges").unwrap();
    Bpe::new(&ids, &merges, &ByteMap::new()).unwrap()
}

fn both(bpe: &Bpe, word: &str) -> (Vec<u32>, Vec<u32>) {
    let (mut fast, mut simple) = (vec![], vec![]);
    bpe.encode_word(word, &mut fast);
    bpe.encode_word_ref(word, &mut simple);
    (fast, simple)
}

#[test]
fn fast_equals_simple_on_corpus_words() {
    let bpe = real_bpe();
    let pre = PreTokenizer::from_name("smollm").unwrap();
    let mut words = 0;
    for (name, text) in corpus() {
        for word in pre.split(&text).unwrap() {
            let (fast, simple) = both(&bpe, word);
            assert_eq!(fast, simple, "{name}: {word:?}");
            words += 1;
        }
    }
    assert!(words > 10_000);
}

#[test]
fn fast_equals_simple_on_long_runs() {
    let bpe = real_bpe();
    for unit in ["a", " ", "\n", "=", "ab", "😀", "-_", "\t "] {
        for n in [1, 2, 3, 7, 64, 257, 1000] {
            let word = unit.repeat(n);
            let (fast, simple) = both(&bpe, &word);
            assert_eq!(fast, simple, "{unit:?} x {n}");
        }
    }
}

#[test]
fn very_long_words_round_trip() {
    // One pre-token of 200 000 bytes: must finish (the simple loop would
    // take minutes) and decode back.
    let tok = tokenizer();
    for text in [
        " ".repeat(200_000),
        "a".repeat(200_000),
        "=".repeat(100_000) + "!",
    ] {
        let ids = tok.encode(&text, true).unwrap();
        assert_eq!(tok.decode(&ids).unwrap(), text);
    }
}
