//! The GBNF engine against llama.cpp's (tests/golden/gbnf, written by
//! scripts/golden_gbnf.sh): the same verdict on every text, the same
//! refusals, and the same next-token mask over the default model's
//! vocabulary.

use std::collections::BTreeSet;
use std::sync::Arc;

use locallm_infer::constrained::{ByteAutomaton, TokenTrie};
use locallm_infer::gbnf::GbnfGrammar;
use locallm_tokenizer::{TokenType, Tokenizer};
use serde_json::Value;

fn golden(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/golden/gbnf/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// complete | prefix | reject, as scripts/reference/gbnf.cpp prints them.
fn verdict(grammar: &GbnfGrammar, text: &str) -> &'static str {
    let mut state = grammar.start();
    if !text.bytes().all(|b| grammar.advance(&mut state, b)) {
        "reject"
    } else if grammar.is_complete(&state) {
        "complete"
    } else {
        "prefix"
    }
}

#[test]
fn verdicts_equal_llamacpp_on_our_grammars() {
    let g = golden("verdicts.json");
    let mut checked = 0;
    for (name, case) in g["grammars"].as_object().unwrap() {
        let grammar = GbnfGrammar::parse(case["grammar"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for t in case["texts"].as_array().unwrap() {
            let text = t["text"].as_str().unwrap();
            assert_eq!(
                verdict(&grammar, text),
                t["verdict"].as_str().unwrap(),
                "{name}: {text:?}"
            );
            checked += 1;
        }
    }
    // one grammar per feature of the format (scripts/gbnf/*.gbnf) is there
    for file in [
        "arithmetic",
        "c",
        "chess",
        "english",
        "japanese",
        "json",
        "json_arr",
        "list",
    ] {
        assert!(g["grammars"].get(file).is_some(), "{file}");
    }
    assert!(checked >= 80, "only {checked} texts");
}

#[test]
fn grammars_llamacpp_refuses_are_refused() {
    let g = golden("verdicts.json");
    for (name, text) in g["refused"].as_object().unwrap() {
        let err = GbnfGrammar::parse(text.as_str().unwrap());
        assert!(err.is_err(), "{name} was accepted");
    }
}

/// "0-5,9" → {0, 1, 2, 3, 4, 5, 9}
fn ranges(text: &str) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        out.extend(a.parse::<u32>().unwrap()..=b.parse::<u32>().unwrap());
    }
    out
}

#[test]
fn token_masks_equal_llamacpp_on_the_real_vocabulary() {
    let path = locallm_models::default_model().unwrap();
    let gguf = locallm_quant::GgufFile::open(&path).unwrap();
    let tokenizer = Arc::new(Tokenizer::from_metadata(&gguf.metadata).unwrap());
    let trie = TokenTrie::new(&tokenizer);
    // the tokens the trie holds: control tokens are never text here, while
    // llama.cpp matches their printed form (`<|im_start|>`) against the grammar
    let text_token = |id: u32| {
        matches!(
            tokenizer.token_type(id),
            Some(TokenType::Normal | TokenType::Byte | TokenType::Undefined)
        )
    };
    let g = golden("masks.json");
    let mut compared = 0;
    for case in g["cases"].as_array().unwrap() {
        let name = case["grammar"].as_str().unwrap();
        let text = case["text"].as_str().unwrap();
        let grammar = GbnfGrammar::parse(g["grammars"][name].as_str().unwrap()).unwrap();
        let mut state = grammar.start();
        assert!(text.bytes().all(|b| grammar.advance(&mut state, b)));
        let mut ours = Vec::new();
        trie.allowed(&grammar, &state, &mut ours);
        let ours: BTreeSet<u32> = ours.into_iter().collect();
        let theirs: BTreeSet<u32> = ranges(case["ids"].as_str().unwrap())
            .into_iter()
            .filter(|&id| text_token(id))
            .collect();
        let missing: Vec<_> = theirs.difference(&ours).take(10).collect();
        let extra: Vec<_> = ours.difference(&theirs).take(10).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{name} after {text:?}: llama.cpp allows {missing:?} we do not; we allow {extra:?} it does not"
        );
        assert_eq!(
            grammar.is_complete(&state),
            case["eog"].as_bool().unwrap(),
            "{name} after {text:?}: end of generation"
        );
        compared += ours.len();
    }
    assert!(
        compared > 100_000,
        "only {compared} allowed tokens compared"
    );
}
