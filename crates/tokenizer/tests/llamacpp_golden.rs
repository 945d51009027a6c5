//! Parity with llama.cpp itself: ids that `llama-tokenize` produced for the
//! corpus files (tests/golden/tokenizer/llamacpp/*.json, written by
//! scripts/golden_llamacpp.sh, which records the llama.cpp version).

mod common;

#[test]
fn ids_match_llama_tokenize() {
    common::check_llamacpp_goldens(common::tokenizer(), "llamacpp");
}
