//! Decoding: token ids -> bytes -> text.
//!
//! Each token stands for a fixed byte string, its *piece*. Decoding is just
//! concatenating pieces. The catch is that a piece need not be valid UTF-8 on
//! its own: an emoji is 4 bytes and may be split over two tokens. Full decode
//! turns invalid bytes into U+FFFD; streaming output must instead wait for the
//! rest of the character, which is what `IncrementalDecoder` does.

use crate::bytes::ByteMap;
use crate::special::TokenType;
use crate::{TokenId, Tokenizer, TokenizerError};

/// The bytes a token stands for, computed once per vocabulary entry.
///
/// Special tokens are their text as is; every other token is GPT-2 stand-in
/// characters, mapped back to bytes. (A character that is not a stand-in
/// cannot occur in a well-formed byte-level vocabulary; it is kept as its own
/// UTF-8 bytes, as Hugging Face's ByteLevel decoder does.)
pub fn piece_bytes(text: &str, ty: TokenType, bytes: &ByteMap) -> Vec<u8> {
    if ty.is_special() {
        return text.as_bytes().to_vec();
    }
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match bytes.byte_of(c) {
            Some(b) => out.push(b),
            None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

/// The bytes a SentencePiece token stands for (llama.cpp's `token_to_piece`
/// for `LLAMA_VOCAB_TYPE_SPM`): `▁` back to a space in normal tokens, the byte
/// itself for `<0xNN>`, the text as is for special and user-defined tokens,
/// nothing for unused ones.
pub fn spm_piece_bytes(text: &str, ty: TokenType) -> Vec<u8> {
    match ty {
        TokenType::Normal => text.replace(crate::spm::SPACE, " ").into_bytes(),
        TokenType::Byte => text
            .strip_prefix("<0x")
            .and_then(|hex| hex.strip_suffix('>'))
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .map_or_else(Vec::new, |b| vec![b]),
        TokenType::Control | TokenType::Unknown | TokenType::UserDefined => {
            text.as_bytes().to_vec()
        }
        TokenType::Unused | TokenType::Undefined => Vec::new(),
    }
}

/// Streaming decode: feed ids one at a time, get back only complete text.
///
/// ```
/// # fn show(tokenizer: &locallm_tokenizer::Tokenizer, generated: &[u32])
/// #     -> Result<(), locallm_tokenizer::TokenizerError> {
/// let mut decoder = tokenizer.decoder();
/// for &id in generated {
///     print!("{}", decoder.push(id)?);
/// }
/// print!("{}", decoder.finish());
/// # Ok(())
/// # }
/// ```
///
/// The concatenated output equals `tokenizer.decode(all_ids)`.
#[derive(Debug)]
pub struct IncrementalDecoder<'a> {
    tokenizer: &'a Tokenizer,
    /// Bytes of a character whose remaining bytes have not arrived yet.
    pending: Vec<u8>,
}

impl<'a> IncrementalDecoder<'a> {
    pub fn new(tokenizer: &'a Tokenizer) -> Self {
        IncrementalDecoder {
            tokenizer,
            pending: Vec::new(),
        }
    }

    // ANCHOR: incremental_decode
    /// Add one token; return the text that is now complete (maybe empty).
    pub fn push(&mut self, id: TokenId) -> Result<String, TokenizerError> {
        self.pending
            .extend_from_slice(self.tokenizer.token_to_piece(id)?);
        let mut text = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(valid) => {
                    text.push_str(valid);
                    self.pending.clear();
                    return Ok(text);
                }
                Err(e) => {
                    let (valid, rest) = self.pending.split_at(e.valid_up_to());
                    text.push_str(std::str::from_utf8(valid).expect("checked valid"));
                    match e.error_len() {
                        // The tail is the start of a character: keep it for later.
                        None => {
                            self.pending = rest.to_vec();
                            return Ok(text);
                        }
                        // Bytes that can never become a character: replace them
                        // with U+FFFD, as the lossy full decode does, and go on.
                        Some(bad) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            self.pending = rest[bad..].to_vec();
                        }
                    }
                }
            }
        }
    }

    /// End of stream: an unfinished character becomes U+FFFD.
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
    // ANCHOR_END: incremental_decode
}
