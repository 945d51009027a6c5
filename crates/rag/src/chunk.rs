//! Documents into chunks: pieces small enough that several fit in a prompt,
//! large enough to carry an answer with its context.
//!
//! Cutting every N tokens would split sentences and separate a heading from
//! its text. So the unit is the paragraph (text between blank lines): chunks
//! are runs of whole paragraphs up to a budget of tokens, and only a
//! paragraph longer than the budget is cut, between words. Consecutive
//! chunks overlap by up to `overlap` tokens of whole paragraphs, so that an
//! answer that straddles a boundary is whole in at least one chunk.
//!
//! "Tokens" are whatever `count` says: the chat model's tokenizer when the
//! budget is about the prompt, or words for a quick estimate.

/// One piece of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub text: String,
    /// Byte range of the chunk in the document (overlapping chunks overlap here too).
    pub start: usize,
    pub end: usize,
}

// ANCHOR: chunk_text
/// Chunks of at most `max_tokens` tokens (as counted by `count`), cut at
/// paragraph boundaries, consecutive ones sharing up to `overlap` tokens.
pub fn chunk_text(
    text: &str,
    max_tokens: usize,
    overlap: usize,
    count: impl Fn(&str) -> usize,
) -> Vec<Chunk> {
    let max_tokens = max_tokens.max(1);
    // the pieces: paragraphs, and long paragraphs cut between words
    let mut pieces: Vec<(usize, usize, usize)> = Vec::new(); // (start, end, tokens)
    for (start, end) in paragraphs(text) {
        split_long(text, start, end, max_tokens, &count, &mut pieces);
    }
    let mut chunks = Vec::new();
    let mut first = 0; // the first piece of the current chunk
    while first < pieces.len() {
        // take whole pieces while they fit
        let (mut last, mut tokens) = (first, pieces[first].2);
        while last + 1 < pieces.len() && tokens + pieces[last + 1].2 <= max_tokens {
            last += 1;
            tokens += pieces[last].2;
        }
        let (start, end) = (pieces[first].0, pieces[last].1);
        chunks.push(Chunk {
            text: text[start..end].to_string(),
            start,
            end,
        });
        if last + 1 == pieces.len() {
            break;
        }
        // the next chunk starts with the trailing pieces that fit in `overlap`
        let mut next = last + 1;
        let mut shared = 0;
        while next > first + 1 && shared + pieces[next - 1].2 <= overlap {
            next -= 1;
            shared += pieces[next].2;
        }
        first = next;
    }
    chunks
}
// ANCHOR_END: chunk_text

/// Byte ranges of the paragraphs (runs of non-blank lines), without the
/// whitespace around them.
fn paragraphs(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() {
            out.extend(current.take());
        } else {
            let start = pos + (line.len() - line.trim_start().len());
            let end = pos + line.trim_end().len();
            current = Some((current.map_or(start, |(s, _)| s), end));
        }
        pos += line.len();
    }
    out.extend(current);
    out
}

/// A paragraph as one piece, or (longer than the budget) several, cut
/// between words.
fn split_long(
    text: &str,
    start: usize,
    end: usize,
    max_tokens: usize,
    count: &impl Fn(&str) -> usize,
    pieces: &mut Vec<(usize, usize, usize)>,
) {
    let tokens = count(&text[start..end]);
    if tokens <= max_tokens {
        pieces.push((start, end, tokens));
        return;
    }
    let mut piece_start = start;
    let mut last_fit = None;
    for (offset, _) in text[start..end].match_indices(char::is_whitespace) {
        let cut = start + offset;
        if cut <= piece_start {
            continue;
        }
        if count(&text[piece_start..cut]) <= max_tokens {
            last_fit = Some(cut);
            continue;
        }
        // close the piece at the last word boundary that fitted (or here, if
        // one word alone is over the budget)
        let close = last_fit.unwrap_or(cut);
        pieces.push((piece_start, close, count(&text[piece_start..close])));
        piece_start = next_word(text, close);
        last_fit = None;
    }
    // the tail: one piece, or two if its last word tips it over
    if let Some(close) = last_fit.filter(|_| count(&text[piece_start..end]) > max_tokens) {
        pieces.push((piece_start, close, count(&text[piece_start..close])));
        piece_start = next_word(text, close);
    }
    if piece_start < end {
        pieces.push((piece_start, end, count(&text[piece_start..end])));
    }
}

/// The first non-whitespace byte at or after `at`.
fn next_word(text: &str, at: usize) -> usize {
    text.len() - text[at..].trim_start().len()
}
