//! The retrieved chunks, put where the model will read them.
//!
//! The sources go into the user's turn, numbered, before the question, with
//! an instruction to answer from them and cite them by number. A small model
//! follows that only loosely; the numbers still let a reader check an answer
//! against its source, which is the point of showing sources at all.

// ANCHOR: rag_prompt
/// The user message for `question` with `sources` (title, text) above it.
pub fn rag_prompt(question: &str, sources: &[(&str, &str)]) -> String {
    let mut prompt = String::from(
        "Answer the question using only the sources below. \
         Cite the sources you use as [1], [2], ...\n\n",
    );
    for (i, (title, text)) in sources.iter().enumerate() {
        prompt.push_str(&format!("[{}] {title}\n{}\n\n", i + 1, text.trim()));
    }
    prompt.push_str(&format!("Question: {question}"));
    prompt
}
// ANCHOR_END: rag_prompt
