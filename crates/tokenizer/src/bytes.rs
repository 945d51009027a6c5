//! GPT-2's byte <-> character map.
//!
//! Byte-level BPE works on raw bytes, so any text (any language, emoji, even
//! invalid UTF-8) can be encoded without an "unknown" token. But vocabularies
//! are stored as strings, and a token such as the byte 0x0A alone would be an
//! unreadable control character. GPT-2 therefore gives each of the 256 byte
//! values a stand-in character: printable Latin-1 bytes stand for themselves,
//! the others (controls, space, 0x7F-0xA0, 0xAD) are moved up to U+0100 and
//! onwards. So a space is stored as `Ġ` (U+0120), a newline as `Ċ` (U+010A),
//! and the token ` the` is written `Ġthe` in `tokenizer.ggml.tokens`.

use std::collections::HashMap;

// ANCHOR: byte_map
/// Is `b` a byte that stands for itself? (`!`..`~`, `¡`..`¬`, `®`..`ÿ`)
fn is_printable(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The character that stands for each byte: GPT-2's `bytes_to_unicode()`.
pub fn bytes_to_unicode() -> [char; 256] {
    let mut map = ['\0'; 256];
    // The 68 non-printable bytes take U+0100, U+0101, ... in byte order.
    let mut next = 0x100;
    for b in 0..=255u8 {
        map[b as usize] = if is_printable(b) {
            char::from(b)
        } else {
            next += 1;
            char::from_u32(next - 1).expect("U+0100..U+0143 are characters")
        };
    }
    map
}
// ANCHOR_END: byte_map

/// The map in both directions.
#[derive(Debug, Clone)]
pub struct ByteMap {
    to_char: [char; 256],
    to_byte: HashMap<char, u8>,
}

impl Default for ByteMap {
    fn default() -> Self {
        Self::new()
    }
}

impl ByteMap {
    pub fn new() -> Self {
        let to_char = bytes_to_unicode();
        let to_byte = (0..=255u8).map(|b| (to_char[b as usize], b)).collect();
        ByteMap { to_char, to_byte }
    }

    /// The stand-in character for one byte.
    pub fn char_of(&self, byte: u8) -> char {
        self.to_char[byte as usize]
    }

    /// The byte a stand-in character means (`None` for any other character).
    pub fn byte_of(&self, c: char) -> Option<u8> {
        self.to_byte.get(&c).copied()
    }

    /// Bytes to their stand-in string: `b" hi\n"` -> `"ĠhiĊ"`.
    pub fn encode(&self, bytes: &[u8]) -> String {
        bytes.iter().map(|&b| self.char_of(b)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_is_a_bijection_onto_printable_characters() {
        let map = bytes_to_unicode();
        let mut seen: Vec<char> = map.to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 256);
        assert!(map.iter().all(|c| !c.is_control() && !c.is_whitespace()));
    }

    #[test]
    fn well_known_stand_ins() {
        let m = ByteMap::new();
        assert_eq!(m.char_of(b' '), 'Ġ');
        assert_eq!(m.char_of(b'\n'), 'Ċ');
        assert_eq!(m.char_of(b'\t'), 'ĉ');
        assert_eq!(m.char_of(0), 'Ā');
        assert_eq!(m.char_of(b'a'), 'a');
        assert_eq!(m.char_of(0xAD), 'Ń'); // soft hyphen: the last one moved
        assert_eq!(m.encode(b" hi\n"), "ĠhiĊ");
        for b in 0..=255u8 {
            assert_eq!(m.byte_of(m.char_of(b)), Some(b));
        }
        assert_eq!(m.byte_of('€'), None);
    }
}
