//! Text <-> token ids, for GGUF models, written from scratch. Two kinds of
//! vocabulary, as GGUF names them in `tokenizer.ggml.model`:
//!
//! - `gpt2`: byte-level BPE with a merge list (SmolLM2, Llama 3, Qwen 2/3,
//!   GPT-2, StarCoder, ...);
//! - `llama`: SentencePiece-style BPE with scores and byte fallback (Gemma,
//!   Llama 2, Mistral, Phi-3), see [`spm`].
//!
//! Encoding a prompt with byte-level BPE goes through four steps, one file
//! each (SentencePiece shares step 1, then merges whole fragments by score):
//!
//! 1. [`special`]: cut out special-token text such as `<|im_start|>`; each
//!    becomes one id and skips the rest.
//! 2. [`pretokenize`]: cut the remaining text into words with the regexes
//!    named by `tokenizer.ggml.pre` (`smollm`: each digit alone, then GPT-2's
//!    split).
//! 3. [`bytes`]: write each word as bytes, each byte as its GPT-2 stand-in
//!    character (a space is `Ġ`).
//! 4. [`bpe`]: merge adjacent pieces, earliest-learned merge first, until no
//!    merge applies; the pieces left are the tokens. (A plain loop states
//!    the rule; a priority queue, as in llama.cpp, makes it fast.)
//!
//! [`decode`] goes back: ids -> bytes -> UTF-8, also incrementally for
//! streaming. [`train`] learns a new vocabulary and merges from a text
//! (used to train a model from scratch). [`chat`] renders the model's chat
//! template, the text format an instruct model expects; [`chat_prompt`]
//! tokenizes it with only the template's markup special, never the
//! messages' content. Everything is read from GGUF metadata
//! ([`Tokenizer::from_metadata`]); the reference we match is llama.cpp
//! (`src/llama-vocab.cpp`), checked against Hugging Face `tokenizers` in the
//! tests.

pub mod bpe;
pub mod bytes;
pub mod chat;
pub mod chat_prompt;
pub mod decode;
mod error;
mod load;
pub mod pretokenize;
pub mod special;
pub mod spm;
pub mod train;

pub use chat::{ChatTemplate, Message};
pub use chat_prompt::ChatPrompt;
pub use decode::IncrementalDecoder;
pub use error::TokenizerError;
pub use special::{Fragment, TokenType};
pub use train::{TrainedBpe, train_bpe};

use bpe::Bpe;
use bytes::ByteMap;
use locallm_quant::Metadata;
use pretokenize::PreTokenizer;
use special::SpecialTokens;
use spm::Spm;
use std::collections::HashMap;

/// A token id: an index into `tokenizer.ggml.tokens`.
pub type TokenId = u32;

#[derive(Debug, Clone)]
pub struct Tokenizer {
    /// id -> the token as stored (GPT-2 stand-in characters, or special text).
    vocab: Vec<String>,
    types: Vec<TokenType>,
    token_ids: HashMap<String, TokenId>,
    /// id -> the bytes it stands for.
    pieces: Vec<Vec<u8>>,
    model: Model,
    special: SpecialTokens,
    bos: Option<TokenId>,
    eos: Option<TokenId>,
    unk: Option<TokenId>,
    pad: Option<TokenId>,
    add_bos: bool,
    stop_tokens: Vec<TokenId>,
    chat_template: Option<String>,
}

/// How plain text (between special tokens) becomes ids.
#[derive(Debug, Clone)]
enum Model {
    /// `tokenizer.ggml.model = gpt2`: pre-tokenize, then byte-level BPE per
    /// word. With `ignore_merges`, a word that is a token as a whole is taken
    /// as is (llama.cpp's rule for Llama 3).
    Bpe {
        pre: PreTokenizer,
        bpe: Bpe,
        bytes: ByteMap,
        ignore_merges: bool,
    },
    /// `tokenizer.ggml.model = llama`: SentencePiece. With
    /// `add_space_prefix`, a fragment at the start or after a special token
    /// gets a leading space (`Hello` is encoded as `▁Hello`).
    Spm { spm: Spm, add_space_prefix: bool },
}

impl Tokenizer {
    /// Build the tokenizer described by a GGUF file's `tokenizer.*` keys.
    pub fn from_metadata(metadata: &Metadata) -> Result<Tokenizer, TokenizerError> {
        load::from_metadata(metadata)
    }

    /// Text to ids. With `parse_special`, special-token text in `text` (such
    /// as `<|im_start|>`) becomes that token; without, it is encoded as plain
    /// text. No BOS is added: see [`Tokenizer::encode_prompt`].
    pub fn encode(&self, text: &str, parse_special: bool) -> Result<Vec<TokenId>, TokenizerError> {
        let mut ids = Vec::new();
        self.encode_fragments(&self.special.split(text, parse_special), &mut ids)?;
        Ok(ids)
    }

    /// Append the ids of text already cut at its special tokens.
    fn encode_fragments(
        &self,
        fragments: &[Fragment],
        ids: &mut Vec<TokenId>,
    ) -> Result<(), TokenizerError> {
        // SentencePiece's space prefix goes before the first fragment and
        // after each special token (llama.cpp's `is_prev_special`).
        let mut after_special = true;
        for fragment in fragments {
            match *fragment {
                Fragment::Special(id) => ids.push(id),
                Fragment::Text(text) => self.encode_text(text, after_special, ids)?,
            }
            after_special = matches!(fragment, Fragment::Special(_));
        }
        Ok(())
    }

    /// Append the ids of plain text (no special tokens in it).
    fn encode_text(
        &self,
        text: &str,
        after_special: bool,
        ids: &mut Vec<TokenId>,
    ) -> Result<(), TokenizerError> {
        match &self.model {
            Model::Bpe {
                pre,
                bpe,
                bytes,
                ignore_merges,
            } => {
                for word in pre.split(text)? {
                    if *ignore_merges
                        && let Some(&id) = self.token_ids.get(&bytes.encode(word.as_bytes()))
                    {
                        ids.push(id);
                        continue;
                    }
                    bpe.encode_word(word, ids);
                }
            }
            Model::Spm {
                spm,
                add_space_prefix,
            } => {
                let prefix = if *add_space_prefix && after_special {
                    " "
                } else {
                    ""
                };
                let escaped = spm::escape_whitespace(&format!("{prefix}{text}"));
                spm.encode(&escaped, &self.token_ids, ids);
            }
        }
        Ok(())
    }

    /// A raw prompt as the model should see it: BOS first if the model asks
    /// for one (`tokenizer.ggml.add_bos_token`), special tokens parsed. This
    /// is what llama.cpp does with a prompt, and what `/v1/completions` and
    /// `generate --raw` do: whoever writes a raw prompt writes its markup.
    /// A chat's messages go through [`Tokenizer::render_chat`] instead, where
    /// content cannot write special tokens.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<TokenId>, TokenizerError> {
        let mut ids = self.bos_prefix();
        ids.extend(self.encode(text, true)?);
        Ok(ids)
    }

    /// `[BOS]` if prompts start with it, else nothing.
    fn bos_prefix(&self) -> Vec<TokenId> {
        self.bos.filter(|_| self.add_bos).into_iter().collect()
    }

    /// The bytes one token stands for; may be part of a UTF-8 character.
    /// Special tokens give their text.
    pub fn token_to_piece(&self, id: TokenId) -> Result<&[u8], TokenizerError> {
        self.pieces
            .get(id as usize)
            .map(Vec::as_slice)
            .ok_or(TokenizerError::IdOutOfRange {
                id,
                vocab_size: self.vocab_size(),
            })
    }

    /// Ids to bytes.
    pub fn decode_bytes(&self, ids: &[TokenId]) -> Result<Vec<u8>, TokenizerError> {
        let mut bytes = Vec::new();
        for &id in ids {
            bytes.extend_from_slice(self.token_to_piece(id)?);
        }
        Ok(bytes)
    }

    /// Ids to text; bytes that are not valid UTF-8 become U+FFFD. Special
    /// tokens decode to their text (`<|im_end|>`), as in llama.cpp's
    /// `token_to_piece(special = true)`; spaces are not "cleaned up".
    pub fn decode(&self, ids: &[TokenId]) -> Result<String, TokenizerError> {
        Ok(String::from_utf8_lossy(&self.decode_bytes(ids)?).into_owned())
    }

    /// A streaming decoder: push ids, get only complete characters back.
    pub fn decoder(&self) -> IncrementalDecoder<'_> {
        IncrementalDecoder::new(self)
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The token as stored in the vocabulary (e.g. `Ġthe` for ` the`).
    pub fn token_text(&self, id: TokenId) -> Result<&str, TokenizerError> {
        self.vocab
            .get(id as usize)
            .map(String::as_str)
            .ok_or(TokenizerError::IdOutOfRange {
                id,
                vocab_size: self.vocab_size(),
            })
    }

    pub fn token_type(&self, id: TokenId) -> Option<TokenType> {
        self.types.get(id as usize).copied()
    }

    /// The id of a vocabulary entry, by its stored text.
    pub fn token_id(&self, text: &str) -> Option<TokenId> {
        self.token_ids.get(text).copied()
    }

    /// Special tokens (CONTROL, USER_DEFINED, UNKNOWN) as (id, text).
    pub fn special_tokens(&self) -> impl Iterator<Item = (TokenId, &str)> {
        self.special.iter()
    }

    pub fn bos_id(&self) -> Option<TokenId> {
        self.bos
    }
    pub fn eos_id(&self) -> Option<TokenId> {
        self.eos
    }
    pub fn unk_id(&self) -> Option<TokenId> {
        self.unk
    }
    pub fn pad_id(&self) -> Option<TokenId> {
        self.pad
    }
    /// Whether prompts start with BOS (`tokenizer.ggml.add_bos_token`).
    pub fn add_bos_token(&self) -> bool {
        self.add_bos
    }

    /// Tokens that end generation: EOS, plus end-of-turn tokens such as
    /// `<|im_end|>` and `<|endoftext|>` when the vocabulary has them.
    pub fn stop_tokens(&self) -> &[TokenId] {
        &self.stop_tokens
    }
    pub fn is_stop(&self, id: TokenId) -> bool {
        self.stop_tokens.contains(&id)
    }

    /// The `tokenizer.ggml.pre` name in use (`None` for SentencePiece,
    /// which has no pre-tokenizer).
    pub fn pre_tokenizer(&self) -> Option<&str> {
        match &self.model {
            Model::Bpe { pre, .. } => Some(pre.name()),
            Model::Spm { .. } => None,
        }
    }

    /// `tokenizer.ggml.model`: `gpt2` (byte-level BPE) or `llama` (SentencePiece).
    pub fn model_kind(&self) -> &'static str {
        match &self.model {
            Model::Bpe { .. } => "gpt2",
            Model::Spm { .. } => "llama",
        }
    }

    /// The Jinja source of `tokenizer.chat_template`, if the file has one.
    pub fn chat_template_source(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    /// The chat template, compiled, with this vocabulary's BOS/EOS text.
    pub fn chat_template(&self) -> Result<ChatTemplate, TokenizerError> {
        let source = self
            .chat_template_source()
            .ok_or(TokenizerError::NoChatTemplate)?;
        let text = |id: Option<TokenId>| id.and_then(|id| self.token_text(id).ok()).unwrap_or("");
        ChatTemplate::new(source, text(self.bos), text(self.eos))
    }
}

#[cfg(test)]
mod tests {
    /// One tokenizer can be shared by threads (e.g. a server).
    #[test]
    fn tokenizer_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Tokenizer>();
        assert_send_sync::<super::ChatTemplate>();
    }
}
