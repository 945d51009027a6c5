//! decode(encode(x)) == x, and streaming decode == full decode.

mod common;

use common::{corpus, tokenizer};
use locallm_tokenizer::Tokenizer;

/// `text` without the characters the vocabulary cannot spell: SmolLM2 has no
/// token for 21 ASCII control bytes (0x04, 0x06, …), so encoding drops them —
/// as llama.cpp and HF tokenizers do (`control_bytes.txt` in the corpus).
fn spellable(tok: &Tokenizer, text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_ascii_control() || !tok.encode(&c.to_string(), false).unwrap().is_empty())
        .collect()
}

#[test]
fn decode_inverts_encode_on_the_corpus() {
    let tok = tokenizer();
    for (name, text) in corpus() {
        for parse_special in [true, false] {
            let ids = tok.encode(&text, parse_special).unwrap();
            assert_eq!(
                tok.decode(&ids).unwrap(),
                spellable(tok, &text),
                "{name} (parse_special {parse_special})"
            );
        }
    }
}

#[test]
fn incremental_decode_equals_full_decode() {
    let tok = tokenizer();
    let mut split_chars = 0;
    for (name, text) in corpus() {
        let ids = tok.encode(&text, true).unwrap();
        let mut decoder = tok.decoder();
        let mut streamed = String::new();
        for &id in &ids {
            let piece = tok.token_to_piece(id).unwrap();
            if std::str::from_utf8(piece).is_err() {
                split_chars += 1; // this token holds part of a character
            }
            let out = decoder.push(id).unwrap();
            // Never a broken character: the corpus has no U+FFFD of its own.
            assert!(!out.contains('\u{FFFD}'), "{name}: {out:?}");
            streamed.push_str(&out);
        }
        streamed.push_str(&decoder.finish());
        assert_eq!(streamed, tok.decode(&ids).unwrap(), "{name}");
        assert_eq!(streamed, spellable(tok, &text), "{name}");
    }
    // The corpus does exercise the buffering: many CJK/emoji characters are
    // split over several tokens.
    assert!(
        split_chars > 100,
        "only {split_chars} tokens with partial characters"
    );
}

#[test]
fn emoji_and_cjk_split_across_tokens_stream_whole() {
    let tok = tokenizer();
    for text in ["👨‍👩‍👧‍👦 家族", "🇯🇵 日本語のテキスト", "😀😀😀", "é中😀"]
    {
        let ids = tok.encode(text, true).unwrap();
        // At least one token is not valid UTF-8 on its own ...
        assert!(
            ids.iter()
                .any(|&id| std::str::from_utf8(tok.token_to_piece(id).unwrap()).is_err()),
            "{text:?} should need buffering"
        );
        // ... yet every chunk the decoder returns is whole characters that
        // the text really contains at that point.
        let mut decoder = tok.decoder();
        let mut streamed = String::new();
        for &id in &ids {
            streamed.push_str(&decoder.push(id).unwrap());
            assert!(
                text.starts_with(&streamed),
                "{streamed:?} is not a prefix of {text:?}"
            );
        }
        assert_eq!(decoder.finish(), "");
        assert_eq!(streamed, text);
    }
}

#[test]
fn invalid_utf8_streams_like_lossy_decode() {
    let tok = tokenizer();
    // Tokens for lone continuation bytes and a truncated 3-byte character.
    let byte_token = |b: u8| {
        let stand_in = locallm_tokenizer::bytes::ByteMap::new()
            .char_of(b)
            .to_string();
        tok.token_id(&stand_in).unwrap()
    };
    let ids = [
        byte_token(b'a'),
        byte_token(0x80),
        byte_token(0xE6),
        byte_token(0x97),
        byte_token(b'b'),
        byte_token(0xE6),
    ];
    let mut decoder = tok.decoder();
    let mut streamed = String::new();
    for &id in &ids {
        streamed.push_str(&decoder.push(id).unwrap());
    }
    streamed.push_str(&decoder.finish());
    let full = tok.decode(&ids).unwrap();
    assert_eq!(streamed, full);
    assert_eq!(
        full,
        String::from_utf8_lossy(&[b'a', 0x80, 0xE6, 0x97, b'b', 0xE6])
    );
}

#[test]
fn out_of_range_ids_are_errors() {
    let tok = tokenizer();
    let n = tok.vocab_size() as u32;
    assert!(tok.decode(&[n]).is_err());
    assert!(tok.token_to_piece(u32::MAX).is_err());
    assert!(tok.token_text(n).is_err());
    let mut decoder = tok.decoder();
    assert!(decoder.push(n).is_err());
    let err = tok.decode(&[1, n]).unwrap_err();
    assert!(err.to_string().contains(&n.to_string()), "{err}");
}
