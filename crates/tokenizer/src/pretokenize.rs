//! Pre-tokenization: cut the text into words before BPE sees it.
//!
//! BPE never merges across these cuts, which keeps tokens "word-like": ` the`
//! can be a token, `e t` cannot. The cuts are made by a short list of regexes,
//! exactly as llama.cpp does it (`unicode_regex_split` in `src/unicode.cpp`):
//! each regex splits every piece further, and the text *between* matches is
//! kept as pieces too, so nothing is ever lost.
//!
//! Which list a model uses is named in its GGUF metadata by
//! `tokenizer.ggml.pre`. SmolLM2 says `smollm`; llama.cpp gives it the same
//! list as StarCoder: first every digit alone, then GPT-2's regex. (This is
//! what SmolLM2's own `tokenizer.json` spells as a `Digits(individual_digits)`
//! pre-tokenizer followed by `ByteLevel`.) Llama 3 says `llama-bpe`, Qwen 2
//! and 3 say `qwen2`: one regex each, with numbers in groups of three or
//! digit by digit. SentencePiece vocabularies (Gemma, Mistral, Phi-3) have no
//! pre-tokenizer at all.

use crate::TokenizerError;
use fancy_regex::Regex;

// ANCHOR: pretokenize_regex
/// GPT-2's split, in llama.cpp's spelling: English contractions, then runs of
/// letters, of numbers, or of other symbols, each with at most one leading
/// space; then whitespace, keeping the last space of a run for the next word
/// (`\s+(?!\S)`). GPT-2's trailing `|\s+` is not needed: text between matches
/// is kept anyway.
pub const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

/// Every number character on its own: `2024` -> `2`, `0`, `2`, `4`.
pub const EACH_DIGIT: &str = r"\p{N}";

/// Llama 3's split (`llama-bpe`), as llama.cpp adapts it from the model's
/// `tokenizer.json` (`src/llama-vocab.cpp`, `LLAMA_VOCAB_PRE_TYPE_LLAMA3`; the
/// case-insensitive `(?i:'s|...)` spelled out as `'[sS]|...`). Unlike GPT-2: a
/// word takes one leading non-letter (`[^\r\n\p{L}\p{N}]?`, so `"hello` is
/// one piece), numbers go in groups of up to three digits, and newlines stick
/// to the punctuation before them.
pub const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Qwen 2's split (`qwen2`, also Qwen 2.5 and 3): Llama 3's, but each digit
/// alone (llama.cpp's `LLAMA_VOCAB_PRE_TYPE_QWEN2`).
pub const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The regexes for a `tokenizer.ggml.pre` name, applied in order (the names
/// and groups of llama.cpp's `llama_vocab::impl::load`).
pub fn regexes_for(pre: &str) -> Result<&'static [&'static str], TokenizerError> {
    Ok(match pre {
        // LLAMA_VOCAB_PRE_TYPE_{SMOLLM, STARCODER, REFACT, COMMAND_R, ...}
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva-7b" => {
            &[EACH_DIGIT, GPT2]
        }
        // LLAMA_VOCAB_PRE_TYPE_{GPT2, MPT, OLMO, JAIS, ...}
        "gpt-2" | "phi-2" | "mpt" | "olmo" | "jais" | "gigachat" | "mellum" | "trillion"
        | "exaone4" => &[GPT2],
        // LLAMA_VOCAB_PRE_TYPE_{LLAMA3, DBRX, SMAUG}
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "pixtral" | "dbrx" | "smaug-bpe" => {
            &[LLAMA3]
        }
        // LLAMA_VOCAB_PRE_TYPE_{QWEN2, STABLELM2}
        "qwen2" | "deepseek-r1-qwen" | "stablelm2" => &[QWEN2],
        // What llama.cpp falls back to when a file names no pre-tokenizer.
        "default" => &[r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"],
        other => return Err(TokenizerError::UnknownPreTokenizer(other.to_string())),
    })
}

/// Whether a word that is itself a token skips the merges (`ignore_merges`
/// in llama.cpp, set for these names). Llama 3's merges cannot build some of
/// its own tokens, so without this `llama-bpe` would split them.
pub fn ignores_merges(pre: &str) -> bool {
    matches!(
        pre,
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "pixtral"
    )
}

/// Whether prompts start with BOS when the file does not say
/// (`tokenizer.ggml.add_bos_token` absent): llama.cpp's default for these
/// names; false for every other byte-level BPE.
pub fn adds_bos_by_default(pre: &str) -> bool {
    ignores_merges(pre)
}
// ANCHOR_END: pretokenize_regex

/// A compiled list of splitting regexes.
#[derive(Debug, Clone)]
pub struct PreTokenizer {
    name: String,
    regexes: Vec<Regex>,
}

impl PreTokenizer {
    /// The pre-tokenizer llama.cpp uses for `tokenizer.ggml.pre = name`.
    pub fn from_name(name: &str) -> Result<Self, TokenizerError> {
        let regexes = regexes_for(name)?
            .iter()
            .map(|pattern| Regex::new(pattern).map_err(TokenizerError::from))
            .collect::<Result<_, _>>()?;
        Ok(PreTokenizer {
            name: name.to_string(),
            regexes,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Cut `text` into words. Concatenating them gives back `text`.
    pub fn split<'t>(&self, text: &'t str) -> Result<Vec<&'t str>, TokenizerError> {
        let mut pieces = vec![text];
        for regex in &self.regexes {
            let mut finer = Vec::with_capacity(pieces.len());
            for piece in pieces {
                split_keeping_gaps(regex, piece, &mut finer)?;
            }
            pieces = finer;
        }
        Ok(pieces)
    }
}

/// Push the matches of `regex` in `text` and the non-empty text between them.
fn split_keeping_gaps<'t>(
    regex: &Regex,
    text: &'t str,
    out: &mut Vec<&'t str>,
) -> Result<(), TokenizerError> {
    let mut end_of_last = 0;
    for m in regex.find_iter(text) {
        let m = m?;
        if m.start() > end_of_last {
            out.push(&text[end_of_last..m.start()]);
        }
        out.push(m.as_str());
        end_of_last = m.end();
    }
    if end_of_last < text.len() {
        out.push(&text[end_of_last..]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pre: &str, text: &str) -> Vec<String> {
        let p = PreTokenizer::from_name(pre).unwrap();
        p.split(text)
            .unwrap()
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn pieces_concatenate_to_the_input() {
        let text = "Hello,  world!\n\n\tI'm 2024 years—old 😀 日本語  ";
        for pre in ["smollm", "gpt-2", "default", "llama-bpe", "qwen2"] {
            assert_eq!(split(pre, text).concat(), text, "{pre}");
        }
    }

    #[test]
    fn unknown_pre_tokenizer_is_a_clear_error() {
        let err = PreTokenizer::from_name("no-such-model").unwrap_err();
        assert!(matches!(err, TokenizerError::UnknownPreTokenizer(ref n) if n == "no-such-model"));
        assert!(err.to_string().contains("no-such-model"));
    }
}
