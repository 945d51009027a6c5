//! Special tokens: `<|im_start|>`, `<|im_end|>`, `<|endoftext|>`, ...
//!
//! These are not learned by BPE; they are whole strings with ids of their
//! own, marked in `tokenizer.ggml.token_type` as CONTROL (3) or USER_DEFINED
//! (4). When a prompt contains their text, it is cut out *before*
//! pre-tokenization and replaced by the single id, so BPE never sees it.

use std::ops::Range;

use crate::TokenId;

/// `llama_token_type` from llama.cpp's `llama.h`, stored per token in GGUF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Undefined,
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl TokenType {
    pub fn from_gguf(value: i64) -> TokenType {
        match value {
            1 => TokenType::Normal,
            2 => TokenType::Unknown,
            3 => TokenType::Control,
            4 => TokenType::UserDefined,
            5 => TokenType::Unused,
            6 => TokenType::Byte,
            _ => TokenType::Undefined,
        }
    }

    /// Tokens whose text is matched in raw input instead of going through BPE.
    pub fn is_special(self) -> bool {
        matches!(
            self,
            TokenType::Control | TokenType::UserDefined | TokenType::Unknown
        )
    }
}

/// A stretch of input: plain text for BPE, or one special token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment<'t> {
    Text(&'t str),
    Special(TokenId),
}

/// The special tokens of a vocabulary, longest text first.
#[derive(Debug, Clone, Default)]
pub struct SpecialTokens {
    tokens: Vec<(TokenId, String, TokenType)>,
    /// Ids whose match also eats the whitespace after it (RSTRIP).
    rstrip: Vec<TokenId>,
}

impl SpecialTokens {
    /// Collect the special tokens from the vocabulary and its types.
    pub fn new(vocab: &[String], types: &[TokenType]) -> Self {
        let mut tokens: Vec<(TokenId, String, TokenType)> = vocab
            .iter()
            .zip(types)
            .enumerate()
            .filter(|(_, (text, ty))| ty.is_special() && !text.is_empty())
            .map(|(id, (text, &ty))| (id as TokenId, text.clone(), ty))
            .collect();
        // Longer first, so `<|im_start|>` is cut out before a shorter token
        // that may be part of it. (Stable: equal lengths stay in id order.)
        tokens.sort_by_key(|(_, text, _)| std::cmp::Reverse(text.len()));
        SpecialTokens {
            tokens,
            rstrip: Vec::new(),
        }
    }

    /// Mark the special tokens whose text passes `which` as eating the
    /// whitespace that follows them (llama.cpp's LLAMA_TOKEN_ATTR_RSTRIP).
    pub fn set_rstrip(&mut self, which: impl Fn(&str) -> bool) {
        self.rstrip = self
            .tokens
            .iter()
            .filter(|(_, text, _)| which(text))
            .map(|(id, _, _)| *id)
            .collect();
    }

    pub fn iter(&self) -> impl Iterator<Item = (TokenId, &str)> {
        self.tokens.iter().map(|(id, text, _)| (*id, text.as_str()))
    }

    /// Cut special-token text out of `text`, as llama.cpp's
    /// `tokenizer_st_partition` does: one token at a time, longest first,
    /// every occurrence in every still-plain fragment. With `parse_special`
    /// off, CONTROL tokens are left as plain text (so a user typing
    /// `<|im_end|>` cannot end a turn), but USER_DEFINED ones still match.
    pub fn split<'t>(&self, text: &'t str, parse_special: bool) -> Vec<Fragment<'t>> {
        let parsed = |ty| parse_special || ty == TokenType::UserDefined;
        self.split_where(text, parsed, |_, _| true)
    }

    /// `split` with special tokens parsed, except that a CONTROL or UNKNOWN
    /// token whose text overlaps one of the byte ranges `literal` stays plain
    /// text there: a chat prompt's message content (see
    /// [`crate::chat_prompt`]), where only the template's markup is special.
    pub fn split_outside<'t>(&self, text: &'t str, literal: &[Range<usize>]) -> Vec<Fragment<'t>> {
        self.split_where(
            text,
            |_| true,
            |ty, at| {
                ty == TokenType::UserDefined
                    || !literal.iter().any(|r| r.start < at.end && at.start < r.end)
            },
        )
    }

    /// Whether a token's text occurs in `text` as a token that would be
    /// parsed only with special parsing on (CONTROL or UNKNOWN): the ones
    /// content must not be able to write. The longest such match at the
    /// start of `text`, in bytes.
    pub fn control_prefix(&self, text: &str) -> Option<usize> {
        self.tokens
            .iter()
            .find(|(_, special, ty)| *ty != TokenType::UserDefined && text.starts_with(special))
            .map(|(_, special, _)| special.len())
    }

    /// The partition itself: tokens of the types `parsed` accepts are cut
    /// out where `keep(type, byte range in text)` accepts the occurrence.
    fn split_where<'t>(
        &self,
        text: &'t str,
        parsed: impl Fn(TokenType) -> bool,
        keep: impl Fn(TokenType, Range<usize>) -> bool,
    ) -> Vec<Fragment<'t>> {
        let mut fragments = vec![Fragment::Text(text)];
        for (id, special, ty) in &self.tokens {
            if !parsed(*ty) {
                continue;
            }
            let mut finer = Vec::with_capacity(fragments.len());
            for fragment in fragments {
                match fragment {
                    Fragment::Text(plain) => {
                        // where `plain` starts in `text` (it is a slice of it)
                        let base = plain.as_ptr() as usize - text.as_ptr() as usize;
                        let keep = |at: usize| keep(*ty, base + at..base + at + special.len());
                        cut(
                            plain,
                            special,
                            *id,
                            self.rstrip.contains(id),
                            keep,
                            &mut finer,
                        )
                    }
                    special => finer.push(special),
                }
            }
            fragments = finer;
        }
        fragments.retain(|f| *f != Fragment::Text(""));
        fragments
    }
}

/// Push `text` with every occurrence of `special` that `keep` (its byte
/// offset in `text`) accepts replaced by `Special(id)`; with `rstrip`, the
/// whitespace after each occurrence goes too (C's `isspace`, as llama.cpp
/// tests it).
fn cut<'t>(
    text: &'t str,
    special: &str,
    id: TokenId,
    rstrip: bool,
    keep: impl Fn(usize) -> bool,
    out: &mut Vec<Fragment<'t>>,
) {
    let mut start = 0; // the plain text not pushed yet begins here
    let mut from = 0; // where to look for the next occurrence
    while let Some(found) = text[from..].find(special) {
        let at = from + found;
        if !keep(at) {
            // plain text: look again one character further on
            from = at + text[at..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        out.push(Fragment::Text(&text[start..at]));
        out.push(Fragment::Special(id));
        let mut rest = &text[at + special.len()..];
        if rstrip {
            rest = rest.trim_start_matches([' ', '\t', '\n', '\x0B', '\x0C', '\r']);
        }
        start = text.len() - rest.len();
        from = start;
    }
    out.push(Fragment::Text(&text[start..]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use Fragment::*;

    fn specials() -> SpecialTokens {
        let vocab: Vec<String> = ["<s>", "hello", "<|im_start|>", "<user>"]
            .map(String::from)
            .to_vec();
        let types = [3, 1, 3, 4].map(TokenType::from_gguf);
        SpecialTokens::new(&vocab, &types)
    }

    #[test]
    fn special_text_becomes_one_fragment() {
        let s = specials();
        assert_eq!(
            s.split("<|im_start|>hi<s><s> there", true),
            [
                Special(2),
                Text("hi"),
                Special(0),
                Special(0),
                Text(" there")
            ]
        );
        // Normal tokens are never matched as text.
        assert_eq!(s.split("hello", true), [Text("hello")]);
        assert_eq!(s.split("", true), []);
    }

    #[test]
    fn rstrip_tokens_eat_the_whitespace_after_them() {
        let mut s = specials();
        s.set_rstrip(|text| text == "<|im_start|>");
        assert_eq!(
            s.split("<|im_start|> \n hi <s> x", true),
            [Special(2), Text("hi "), Special(0), Text(" x")]
        );
    }

    #[test]
    fn without_parse_special_only_user_defined_tokens_match() {
        let s = specials();
        assert_eq!(
            s.split("<s>a<user>b", false),
            [Text("<s>a"), Special(3), Text("b")]
        );
    }

    #[test]
    fn split_outside_leaves_control_tokens_in_literal_ranges_as_text() {
        let s = specials();
        let text = "<|im_start|>a<|im_start|><user><s>";
        // bytes 13..25 are the second `<|im_start|>`; USER_DEFINED still matches
        assert_eq!(
            s.split_outside(text, std::slice::from_ref(&(13..25))),
            [Special(2), Text("a<|im_start|>"), Special(3), Special(0)]
        );
        // a range that overlaps a token only in part keeps it text as well
        assert_eq!(
            s.split_outside(text, &[20..21, 31..32]),
            [Special(2), Text("a<|im_start|>"), Special(3), Text("<s>")]
        );
        assert_eq!(s.split_outside(text, &[]), s.split(text, true));
    }
}
