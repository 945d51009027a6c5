//! Decoding arbitrary id sequences, out-of-range ids included: a typed
//! error, never a panic; the incremental decoder (streaming) agrees with
//! the one-shot decoder on every valid sequence.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let tok = common::tokenizer();
    let vocab = tok.vocab_size() as u32;
    // mostly in-range ids (the first bit picks), some far outside
    let ids: Vec<u32> = data
        .chunks_exact(4)
        .map(|c| {
            let v = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if v & 1 == 0 {
                (v >> 1) % (vocab + 8)
            } else {
                v
            }
        })
        .collect();
    let _ = tok.decode_bytes(&ids);
    let whole = tok.decode(&ids);
    let mut dec = tok.decoder();
    let mut streamed = String::new();
    let mut failed = false;
    for &id in &ids {
        let _ = tok.token_to_piece(id);
        let _ = tok.token_text(id);
        let _ = tok.token_type(id);
        match dec.push(id) {
            Ok(s) => streamed.push_str(&s),
            Err(_) => failed = true,
        }
    }
    streamed.push_str(&dec.finish());
    // documented: the concatenated output equals `decode(all_ids)`
    if let (Ok(text), false) = (whole, failed) {
        assert_eq!(streamed, text, "{ids:?}");
    }
});
