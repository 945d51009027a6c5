//! One sentence through both kinds of tokenizer (chapter 16): SmolLM2's
//! byte-level BPE and Gemma 3's SentencePiece, each with its own vocabulary
//! read from its GGUF file. Prints every token as the vocabulary stores it,
//! so the two spellings of a space (`Ġ`, `▁`) and the two ways of writing a
//! character a vocabulary lacks (GPT-2's byte characters, `<0xNN>` tokens)
//! show side by side.
//!
//! The book includes its output, committed as a figure:
//!
//! `cargo run -p locallm-tokenizer --example two_tokenizers > book/src/figures/two-tokenizers.txt`
//!
//! and `tests/book_figures.rs` fails when the committed figure is
//! not what this program prints.

use locallm_quant::GgufFile;
use locallm_tokenizer::Tokenizer;

/// Spaces, an apostrophe, digits, accents, CJK, an emoji, and a rune that
/// Gemma 3's 262,144 tokens do not cover.
pub const SENTENCE: &str = "Tokenizers don't read naïve cafés: 1234 東京 🦀 ᚠ!";

/// The figure: the sentence, then each model's tokens.
pub fn render() -> Result<String, Box<dyn std::error::Error>> {
    let models = [
        ("SmolLM2-135M-Instruct", locallm_models::default_model()?),
        (
            "Gemma 3 270M",
            locallm_models::ensure(&locallm_models::GEMMA3_270M_Q4_K_M)?,
        ),
    ];
    let mut out = format!(
        "sentence: {SENTENCE:?} ({} characters, {} bytes)\n",
        SENTENCE.chars().count(),
        SENTENCE.len()
    );
    for (name, path) in models {
        let gguf = GgufFile::open(&path)?;
        let tokenizer = Tokenizer::from_metadata(&gguf.metadata)?;
        let kind = match tokenizer.pre_tokenizer() {
            Some(pre) => format!("byte-level BPE (gpt2), pre-tokenizer {pre}"),
            None => format!("SentencePiece ({})", tokenizer.model_kind()),
        };
        let ids = tokenizer.encode(SENTENCE, false)?;
        // Encoding loses nothing: the ids decode to the sentence.
        assert_eq!(tokenizer.decode(&ids)?, SENTENCE, "{name} round trip");
        let tokens: Vec<String> = ids
            .iter()
            .map(|&id| tokenizer.token_text(id).map(|t| format!("[{t}]")))
            .collect::<Result<_, _>>()?;
        out.push_str(&format!(
            "\n{name}: {kind}, vocabulary {} tokens\n{} tokens, {:.2} bytes per token\n{}\nids: {ids:?}\n",
            tokenizer.vocab_size(),
            ids.len(),
            SENTENCE.len() as f64 / ids.len() as f64,
            tokens.join(""),
        ));
    }
    Ok(out)
}

#[allow(dead_code)] // the test includes this file for `render` alone
fn main() -> Result<(), Box<dyn std::error::Error>> {
    print!("{}", render()?);
    Ok(())
}
