//! BM25 against the `bm25s` package (scripts/golden_bm25.py), chunking by
//! its invariants, and the prompt's shape.

use locallm_rag::{Bm25, Bm25Params, chunk_text, rag_prompt, tokenize};
use serde_json::Value;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Paragraphs as the golden script cuts them (`re.split(r"\n\s*\n")`).
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(current.join("\n").trim().to_string());
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current.join("\n").trim().to_string());
    }
    out
}

#[test]
fn bm25_scores_match_bm25s_lucene() {
    let text = std::fs::read_to_string(root().join("tests/golden/texts/gpl-3.txt")).unwrap();
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/golden/rag/bm25_gpl3.json")).unwrap(),
    )
    .unwrap();
    let docs: Vec<Vec<String>> = paragraphs(&text).iter().map(|p| tokenize(p)).collect();
    assert_eq!(docs.len() as u64, golden["n_docs"].as_u64().unwrap());
    let index = Bm25::new(&docs, Bm25Params::default());
    for q in golden["queries"].as_array().unwrap() {
        let query = tokenize(q["query"].as_str().unwrap());
        let want: Vec<(usize, f32)> = q["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_u64().unwrap() as usize,
                    p[1].as_f64().unwrap() as f32,
                )
            })
            .collect();
        for &(doc, score) in &want {
            let ours = index.score(&query, doc);
            assert!(
                (ours - score).abs() <= 1e-4 * score.max(1.0),
                "{q}: doc {doc} {ours} != {score}"
            );
        }
        // the same ranking (bm25s scores in f32: equal scores may swap)
        let got = index.search(&query, want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g.0 == w.0 || (g.1 - w.1).abs() < 1e-5,
                "{q}: {got:?} vs {want:?}"
            );
        }
    }
}

#[test]
fn rare_words_weigh_more_and_absent_ones_nothing() {
    let docs: Vec<Vec<String>> = ["the cat sat", "the dog sat", "the cat ran far away"]
        .iter()
        .map(|d| tokenize(d))
        .collect();
    let index = Bm25::new(&docs, Bm25Params::default());
    assert!(index.idf("dog") > index.idf("cat") && index.idf("cat") > index.idf("the"));
    let hits = index.search(&tokenize("dog"), 10);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].0, 1);
    assert!(index.search(&tokenize("zebra"), 10).is_empty());
    // the shorter of two documents with the same match ranks first (b > 0)
    let hits = index.search(&tokenize("cat"), 10);
    assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![0, 2]);
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

#[test]
fn chunks_respect_the_budget_paragraphs_and_overlap() {
    let text = std::fs::read_to_string(root().join("tests/golden/texts/gpl-3.txt")).unwrap();
    let paras = paragraphs(&text);
    for (max, overlap) in [(60, 0), (120, 30), (400, 100)] {
        let chunks = chunk_text(&text, max, overlap, words);
        assert!(chunks.len() > 1);
        for c in &chunks {
            assert_eq!(c.text, text[c.start..c.end]);
            // within budget, unless one paragraph alone was cut to size
            assert!(words(&c.text) <= max, "{} words > {max}", words(&c.text));
        }
        // in order, overlapping by at most `overlap` words, covering everything
        for pair in chunks.windows(2) {
            assert!(pair[1].start > pair[0].start);
            if pair[1].start < pair[0].end {
                assert!(words(&text[pair[1].start..pair[0].end]) <= overlap);
            }
            let gap = &text[pair[0].end.min(pair[1].start)..pair[1].start];
            assert!(
                gap.trim().is_empty(),
                "text between chunks is lost: {gap:?}"
            );
        }
        assert_eq!(chunks[0].start, text.find(paras[0].as_str()).unwrap());
        assert_eq!(chunks.last().unwrap().end, text.trim_end().len());
        // a paragraph that fits is never cut
        for p in paras.iter().filter(|p| words(p) <= max) {
            assert!(chunks.iter().any(|c| c.text.contains(p.as_str())), "{p}");
        }
    }
}

#[test]
fn the_prompt_numbers_its_sources() {
    let p = rag_prompt("Who?", &[("a.md", "Alice.\n"), ("b.md", " Bob.")]);
    assert!(
        p.contains("[1] a.md\nAlice.\n\n[2] b.md\nBob.\n\nQuestion: Who?"),
        "{p}"
    );
}

/// all-MiniLM-L6-v2 on burn against sentence-transformers
/// (scripts/golden_minilm.py): cosine ≥ 0.9999 for every sentence,
/// including the empty one, non-Latin scripts and one cut at 256 tokens.
#[test]
fn minilm_embeddings_match_sentence_transformers() {
    use locallm_models::{ALL_MINILM_L6_V2, ALL_MINILM_L6_V2_TOKENIZER, ensure};
    let weights = ensure(&ALL_MINILM_L6_V2).unwrap();
    let tokenizer = ensure(&ALL_MINILM_L6_V2_TOKENIZER).unwrap();
    let device = locallm_model::default_device().unwrap();
    let embedder = locallm_rag::Embedder::load(&weights, &tokenizer, &device).unwrap();
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/golden/rag/minilm_embeddings.json")).unwrap(),
    )
    .unwrap();
    let items = golden["items"].as_array().unwrap();
    assert!(items.len() >= 20);
    for item in items {
        let text = item["text"].as_str().unwrap();
        let want: Vec<f32> = item["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let got = embedder.embed(text);
        assert_eq!(got.len(), 384);
        let cos: f32 = got.iter().zip(&want).map(|(a, b)| a * b).sum::<f32>()
            / want.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(cos >= 0.9999, "{text:?}: cosine {cos}");
    }
    assert_eq!(
        embedder.tokens(&"word ".repeat(1000)).len(),
        locallm_rag::embed::MAX_TOKENS
    );
}
