//! How good is retrieval? Recall@k on questions with known answers.
//!
//! Each question names the file and a distinctive phrase of the passage that
//! answers it. A chunk is *relevant* when it comes from that file and
//! contains the phrase; recall@k is the share of questions with a relevant
//! chunk among the first k retrieved. Recall@5 is what a RAG prompt with five
//! sources can use at all; recall@1 is how often the best guess is right.

use std::path::Path;

use crate::embed::Embedder;
use crate::pipeline::{Method, Ranker};
use crate::store::StoredChunk;

/// One line of the question file (JSON Lines).
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub question: String,
    /// The file name (not path) that holds the answer, e.g. `ch06-rag.md`.
    pub file: String,
    /// Words of the answering passage, as written there.
    pub phrase: String,
}

/// Reads a JSON Lines file of `{"question", "file", "phrase"}` objects.
pub fn load_questions(path: &Path) -> Result<Vec<Question>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let bad = |what: &str| format!("{}:{}: {what}", path.display(), i + 1);
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
            let field = |name: &str| {
                v[name]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(&format!("no string field {name:?}")))
            };
            Ok(Question {
                question: field("question")?,
                file: field("file")?,
                phrase: field("phrase")?,
            })
        })
        .collect()
}

/// Whitespace runs as one space, so a phrase matches across line breaks.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `chunk` answers `q`: right file, phrase inside.
pub fn relevant(chunk: &StoredChunk, q: &Question) -> bool {
    let file = Path::new(&chunk.source)
        .file_name()
        .and_then(|f| f.to_str());
    file == Some(q.file.as_str()) && squash(&chunk.text).contains(&squash(&q.phrase))
}

/// Recall@1 and recall@5 of one method.
#[derive(Debug, Clone, PartialEq)]
pub struct Recall {
    pub method: Method,
    pub at1: f64,
    pub at5: f64,
    pub questions: usize,
}

// ANCHOR: recall
/// Recall@1 and @5 of every method over `questions`.
pub fn evaluate(ranker: &Ranker, embedder: &dyn Embedder, questions: &[Question]) -> Vec<Recall> {
    Method::ALL
        .iter()
        .map(|&method| {
            let (mut at1, mut at5) = (0, 0);
            for q in questions {
                let ranking = ranker.rank(method, &q.question, embedder);
                let first = ranking.iter().position(|&i| relevant(&ranker.chunks[i], q));
                at1 += usize::from(first.is_some_and(|r| r < 1));
                at5 += usize::from(first.is_some_and(|r| r < 5));
            }
            let n = questions.len().max(1) as f64;
            Recall {
                method,
                at1: at1 as f64 / n,
                at5: at5 as f64 / n,
                questions: questions.len(),
            }
        })
        .collect()
}
// ANCHOR_END: recall
