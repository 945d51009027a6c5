//! Chapter 7 exercise: the RAG lever is a prompt.
//!
//! Retrieval changes nothing in the model: it puts text in front of the
//! question. `locallm rag ask` writes the user message as an instruction,
//! then every source numbered `[1]`, `[2]`, ... with its title on one line
//! and its text (trimmed) on the next, a blank line after each, and the
//! question last:
//!
//! ```text
//! Answer the question using only the sources below. Cite the sources you use as [1], [2], ...
//!
//! [1] Title one
//! Text one
//!
//! [2] Title two
//! Text two
//!
//! Question: the question
//! ```
//!
//! Check your work with `./check.sh ch07-rag-prompt` (from `exercises/`).
//! The tests compare your prompt with `locallm-rag`'s, byte for byte.

/// The instruction line, as `locallm-rag` writes it.
pub const INSTRUCTION: &str =
    "Answer the question using only the sources below. Cite the sources you use as [1], [2], ...";

/// The user message for `question` with `sources` (title, text) above it.
pub fn rag_prompt(question: &str, sources: &[(&str, &str)]) -> String {
    // TODO: the instruction and a blank line, then each source, then the question.
    let _ = (question, sources);
    todo!("the RAG prompt")
}

/// The source numbers an answer cites (`[2]`, `[1]` ...), in order of first
/// citation, each once, ignoring numbers outside `1..=n_sources`.
pub fn cited(answer: &str, n_sources: usize) -> Vec<usize> {
    // TODO: find every `[digits]`, parse it, keep the valid new ones.
    let _ = (answer, n_sources);
    todo!("the citations")
}
