//! Flows: the RAG pipeline and a request's path through the server. Each
//! is a table of boxes and a table of arrows; the names on them are checked
//! against the source files that define them.

use std::path::Path;

use locallm_plot::diagram::{Diagram, Font, fill};

use crate::facts::Source;
use crate::figures::W;

/// A box: x, y, width, height, fill, lines of text.
type Step<'a> = (f64, f64, f64, f64, &'a str, &'a [&'a str]);
/// An arrow from (x1, y1) to (x2, y2).
type Arrow = (f64, f64, f64, f64);

fn draw(g: &mut Diagram, steps: &[Step], arrows: &[Arrow], font: Font) {
    for &(x, y, w, h, color, lines) in steps {
        g.boxed((x, y, w, h), color, lines, font);
    }
    for &(x1, y1, x2, y2) in arrows {
        g.arrow(x1, y1, x2, y2);
    }
}

/// Ingest once, then per question: retrieve two ways, fuse, prompt.
pub fn rag_pipeline(repo: &Path) -> String {
    let pipeline = Source::open(repo, "crates/rag/src/pipeline.rs");
    pipeline.require("size: 120,");
    pipeline.require("overlap: 30,");
    let embed = Source::open(repo, "crates/rag/src/embed.rs");
    embed.require("const D: usize = 384;");
    embed.require("pub const MAX_TOKENS: usize = 256;");
    let hybrid = Source::open(repo, "crates/rag/src/hybrid.rs");
    hybrid.require("pub const RRF_K: f64 = 60.0;");

    let mut g = Diagram::new(W, 400.0);
    let title = "Retrieval-augmented generation (locallm-rag)";
    g.text(g.mid_x(), 28.0, title, Font::TITLE);
    g.text(
        20.0,
        62.0,
        "ingest, once per document",
        Font::LABEL.start().bold(),
    );
    g.text(
        20.0,
        182.0,
        "ask, every question",
        Font::LABEL.start().bold(),
    );
    let (a, b) = (75.0, 200.0); // the tops of the two lanes
    #[rustfmt::skip]
    let steps: [Step; 10] = [
        (20.0, a, 120.0, 56.0, fill::GREY, &["documents"]),
        (180.0, a, 160.0, 56.0, fill::BLUE, &["chunk_text", "120 words, 30 overlap", "cut at paragraphs"]),
        (380.0, a, 160.0, 56.0, fill::PURPLE, &["embed (MiniLM)", "≤ 256 tokens", "→ 384 numbers"]),
        (580.0, a, 160.0, 56.0, fill::ORANGE, &["store (SQLite)", "text, hash, vector"]),
        (20.0, b + 40.0, 120.0, 56.0, fill::GREY, &["question"]),
        (180.0, b, 160.0, 50.0, fill::BLUE, &["BM25 ranking", "(words)"]),
        (180.0, b + 86.0, 160.0, 50.0, fill::PURPLE, &["cosine ranking", "(embedded question)"]),
        (380.0, b + 40.0, 140.0, 56.0, fill::YELLOW, &["reciprocal rank", "fusion, k = 60"]),
        (560.0, b + 40.0, 180.0, 56.0, fill::GREEN, &["prompt: sources [1] [2] [3]", "+ the question"]),
        (560.0, b + 130.0, 180.0, 50.0, fill::RED, &["model → answer", "citing [n]"]),
    ];
    #[rustfmt::skip]
    let arrows: [Arrow; 10] = [
        (140.0, a + 28.0, 180.0, a + 28.0),
        (340.0, a + 28.0, 380.0, a + 28.0),
        (540.0, a + 28.0, 580.0, a + 28.0),
        (140.0, b + 60.0, 180.0, b + 25.0),
        (140.0, b + 76.0, 180.0, b + 111.0),
        (260.0, 165.0, 260.0, b),
        (340.0, b + 25.0, 380.0, b + 58.0),
        (340.0, b + 111.0, 380.0, b + 78.0),
        (520.0, b + 68.0, 560.0, b + 68.0),
        (650.0, b + 96.0, 650.0, b + 130.0),
    ];
    draw(&mut g, &steps, &arrows, Font::LABEL.size(12.0));
    // the store feeds both rankings
    g.line(660.0, a + 56.0, 660.0, 165.0, true);
    g.line(660.0, 165.0, 260.0, 165.0, true);
    g.finish()
}

/// From the client's HTTP request to the model thread and back.
pub fn request_path(repo: &Path) -> String {
    for (path, needle) in [
        (
            "crates/serve/src/openai/chat.rs",
            "\"/v1/chat/completions\"",
        ),
        ("crates/serve/src/anthropic.rs", "\"/v1/messages\""),
        ("crates/serve/src/middleware.rs", "async fn auth("),
        ("crates/serve/src/state.rs", "pub fn submit("),
    ] {
        Source::open(repo, path).require(needle);
    }
    let scheduler = Source::open(repo, "crates/serve/src/scheduler.rs");
    scheduler.require("batch::step(");
    scheduler.require("is_closed()");
    let lib = Source::open(repo, "crates/serve/src/lib.rs");
    lib.require("(Anthropic: 529, \"overloaded\")");

    let mut g = Diagram::new(W, 370.0);
    let title = "A request's path through locallm serve";
    g.text(g.mid_x(), 28.0, title, Font::TITLE);
    g.text(
        140.0,
        62.0,
        "tokio tasks (async)",
        Font::LABEL.start().bold(),
    );
    g.text(460.0, 262.0, "one model thread", Font::LABEL.start().bold());
    g.boxed(
        (140.0, 75.0, 160.0, 70.0),
        fill::BLUE,
        &["router", "/v1/chat/completions", "/v1/messages …"],
        Font::CODE.size(11.0),
    );
    #[rustfmt::skip]
    let steps: [Step; 7] = [
        (20.0, 150.0, 90.0, 80.0, fill::GREY, &["client", "(SDK, curl,", "chat page)"]),
        (320.0, 75.0, 120.0, 70.0, fill::BLUE, &["auth", "--api-key: Bearer", "or x-api-key"]),
        (460.0, 75.0, 140.0, 70.0, fill::BLUE, &["handler: parse,", "chat template,", "tokenize, context"]),
        (620.0, 75.0, 120.0, 70.0, fill::YELLOW, &["--parallel N", "places; full:", "503 (or 529)"]),
        (620.0, 180.0, 120.0, 50.0, fill::ORANGE, &["submit: Job", "FIFO queue"]),
        (460.0, 275.0, 280.0, 70.0, fill::RED,
         &["scheduler: prefill into a free slot, then", "one batched step for all active; drops", "a client that has gone (is_closed)"]),
        (150.0, 275.0, 260.0, 70.0, fill::GREEN,
         &["Event channel → one JSON answer,", "or server-sent events:", "data: {…} chunks, then [DONE]"]),
    ];
    #[rustfmt::skip]
    let arrows: [Arrow; 8] = [
        (110.0, 170.0, 140.0, 115.0),
        (300.0, 110.0, 320.0, 110.0),
        (440.0, 110.0, 460.0, 110.0),
        (600.0, 110.0, 620.0, 110.0),
        (680.0, 145.0, 680.0, 180.0),
        (680.0, 230.0, 680.0, 275.0),
        (460.0, 310.0, 410.0, 310.0),
        (150.0, 300.0, 80.0, 230.0),
    ];
    draw(&mut g, &steps, &arrows, Font::LABEL.size(12.0));
    g.finish()
}
