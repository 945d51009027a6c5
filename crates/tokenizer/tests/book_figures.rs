//! The book's figures that the tokenizer's examples print are what they print
//! today: a figure typed by hand, or left behind by a change to a tokenizer,
//! the chat-template renderer or the goldens, fails here.
//!
//! - book/src/figures/two-tokenizers.txt (chapter 16): one sentence through
//!   SmolLM2's byte-level BPE and Gemma 3's SentencePiece (both checked
//!   against llama.cpp in llamacpp_golden.rs and families_golden.rs);
//! - book/src/figures/template-tools.md (chapter 25): which of the golden
//!   chat templates carry a tool list and a tool result.

#[path = "../examples/template_tools.rs"]
mod template_tools;
#[path = "../examples/two_tokenizers.rs"]
mod two_tokenizers;

/// The committed `figure` equals `fresh`, the output of `example`.
fn check(figure: &str, example: &str, fresh: String) {
    let path = format!(
        "{}/../../book/src/figures/{figure}",
        env!("CARGO_MANIFEST_DIR")
    );
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        committed == fresh,
        "{path} is stale; regenerate it with\n  cargo run -p locallm-tokenizer --example \
         {example} > book/src/figures/{figure}\n--- committed\n{committed}\n--- now\n{fresh}"
    );
}

#[test]
fn two_tokenizers_figure_is_what_the_example_prints() {
    check(
        "two-tokenizers.txt",
        "two_tokenizers",
        two_tokenizers::render().unwrap(),
    );
}

#[test]
fn template_tools_figure_is_what_the_example_prints() {
    check(
        "template-tools.md",
        "template_tools",
        template_tools::render().unwrap(),
    );
}
