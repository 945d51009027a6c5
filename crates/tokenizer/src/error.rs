//! Everything that can go wrong, as one typed error.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TokenizerError {
    #[error("GGUF metadata has no `{0}`: this file carries no (complete) tokenizer")]
    MissingKey(&'static str),

    #[error("GGUF metadata `{key}` has the wrong type: expected {expected}")]
    WrongType {
        key: &'static str,
        expected: &'static str,
    },

    #[error(
        "tokenizer model `{0}` is not supported (supported: `gpt2`, byte-level BPE, and \
         `llama`, SentencePiece)"
    )]
    UnsupportedModel(String),

    #[error(
        "unknown pre-tokenizer `{0}` (tokenizer.ggml.pre); supported: llama-bpe (Llama 3), \
         qwen2, smollm and the other starcoder-style names, gpt-2 and its aliases, \
         default"
    )]
    UnknownPreTokenizer(String),

    #[error("`{key}` has {got} entries but the vocabulary has {expected} tokens")]
    LengthMismatch {
        key: &'static str,
        got: usize,
        expected: usize,
    },

    #[error("{0} tokens do not fit in 32-bit token ids")]
    TooManyTokens(usize),

    #[error("token {text:?} appears twice in the vocabulary (ids {first} and {second})")]
    DuplicateToken {
        text: String,
        first: u32,
        second: u32,
    },

    #[error("merge #{rank} {merge:?} is malformed or names a token missing from the vocabulary")]
    BadMerge { rank: usize, merge: String },

    #[error("`{key}` = {id} is out of range (vocabulary has {vocab_size} tokens)")]
    SpecialIdOutOfRange {
        key: &'static str,
        id: i64,
        vocab_size: usize,
    },

    #[error("token id {id} is out of range (vocabulary has {vocab_size} tokens)")]
    IdOutOfRange { id: u32, vocab_size: usize },

    /// Boxed: `fancy_regex::Error` is large, and this error is rare.
    #[error("pre-tokenizer regex failed: {0}")]
    Regex(Box<fancy_regex::Error>),

    #[error("GGUF metadata has no `tokenizer.chat_template`")]
    NoChatTemplate,

    #[error(
        "the messages hold more than {0} special-token texts (or private-use characters); \
         shorten them"
    )]
    TooManySpecialTexts(usize),

    #[error("chat template: {0}")]
    Template(#[from] minijinja::Error),

    /// The template called `raise_exception(message)`: it cannot format this
    /// conversation (e.g. a system turn, or roles that do not alternate).
    #[error("the model's chat template refuses this conversation: {0}")]
    TemplateRefused(String),
}

impl From<fancy_regex::Error> for TokenizerError {
    fn from(e: fancy_regex::Error) -> Self {
        TokenizerError::Regex(Box::new(e))
    }
}
