//! Special tokens: `<|im_start|>`, `<|im_end|>`, `<|endoftext|>`, ...
//!
//! These are not learned by BPE; they are whole strings with ids of their
//! own, marked in `tokenizer.ggml.token_type` as CONTROL (3) or USER_DEFINED
//! (4). When a prompt contains their text, it is cut out *before*
//! pre-tokenization and replaced by the single id, so BPE never sees it.

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
        let mut fragments = vec![Fragment::Text(text)];
        for (id, special, ty) in &self.tokens {
            if !parse_special && *ty != TokenType::UserDefined {
                continue;
            }
            let mut finer = Vec::with_capacity(fragments.len());
            for fragment in fragments {
                match fragment {
                    Fragment::Text(plain) => {
                        cut(plain, special, *id, self.rstrip.contains(id), &mut finer)
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

/// Push `text` with every occurrence of `special` replaced by `Special(id)`;
/// with `rstrip`, the whitespace after each occurrence goes too (C's
/// `isspace`, as llama.cpp tests it).
fn cut<'t>(text: &'t str, special: &str, id: TokenId, rstrip: bool, out: &mut Vec<Fragment<'t>>) {
    let mut rest = text;
    while let Some(at) = rest.find(special) {
        out.push(Fragment::Text(&rest[..at]));
        out.push(Fragment::Special(id));
        rest = &rest[at + special.len()..];
        if rstrip {
            rest = rest.trim_start_matches([' ', '\t', '\n', '\x0B', '\x0C', '\r']);
        }
    }
    out.push(Fragment::Text(rest));
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
}
