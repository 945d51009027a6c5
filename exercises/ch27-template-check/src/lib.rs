//! Chapter 27 exercise: was the chat template wrong?
//!
//! A model prompted in a format it was not fine-tuned on continues a
//! document instead of answering, and that shows in its answers before you
//! read them. An answer is *suspicious* when
//!
//! 1. it contains the marker of a chat format (any of [`MARKERS`]), or
//! 2. it starts with white space (a right template makes SmolLM2 start
//!    with a word), or
//! 3. one of its lines with at least three words (trimmed) occurs twice:
//!    the model is repeating itself.
//!
//! A batch of answers was produced with the wrong template when more than a
//! quarter of them are suspicious.
//!
//! Check your work with `./check.sh ch27-template-check` (from `exercises/`).
//! The tests run your check on the 150 answers of chapter 19 (right
//! template) and on the answers `scripts/eval/ch27_wrong_template.sh` got with
//! the Alpaca format (`evals/results/ch27-alpaca.jsonl`).

/// Turn markers of common chat formats.
pub const MARKERS: [&str; 6] = [
    "### Instruction",
    "### Response",
    "[INST]",
    "<|im_start|>",
    "<|im_end|>",
    "<|user|>",
];

/// Rule 1, 2 or 3 above.
pub fn suspicious(answer: &str) -> bool {
    // TODO
    let _ = answer;
    todo!("is this answer suspicious?")
}

/// More than a quarter of `answers` are suspicious (false when empty).
pub fn wrong_template(answers: &[&str]) -> bool {
    // TODO
    let _ = answers;
    todo!("was the template wrong?")
}
