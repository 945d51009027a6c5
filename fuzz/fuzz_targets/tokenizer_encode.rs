//! Encoding arbitrary bytes (as text, lossily) with the real tokenizer,
//! with and without special-token parsing. Byte-level BPE loses nothing
//! the vocabulary can spell: decoding the ids gives the text back, less the
//! bytes that have no token of their own (SmolLM2 lacks 21, e.g. 0x04),
//! which llama.cpp and HF tokenizers drop too (found by this target; the
//! golden `tests/golden/tokenizer/corpus/control_bytes.txt` pins it).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use locallm_tokenizer::bytes::ByteMap;

fuzz_target!(|data: &[u8]| {
    let tok = common::tokenizer();
    let text = String::from_utf8_lossy(data);
    let map = ByteMap::new();
    let spellable = |b: &u8| tok.token_id(&map.char_of(*b).to_string()).is_some();
    for parse_special in [false, true] {
        let ids = tok.encode(&text, parse_special).expect("any text encodes");
        let back = tok.decode_bytes(&ids).expect("encoded ids decode");
        // (special-token text, when parsed, decodes to itself: all spellable)
        let expected: Vec<u8> = text.bytes().filter(spellable).collect();
        assert_eq!(
            back, expected,
            "round trip of {text:?} (parse_special={parse_special})"
        );
    }
    let _ = tok.encode_prompt(&text);
});
