//! The book's diagrams, one function each, drawn from [`ModelFacts`] and
//! the code's own constants; here the ones of the model's shapes, in
//! `layouts.rs` the byte layouts, in `pipelines.rs` the flows. Coordinates
//! are in pixels on a canvas [`W`] wide.

use std::path::Path;

use locallm_plot::diagram::{Diagram, Font, fill};

use crate::facts::{ModelFacts, Source, thousands};
use crate::layouts::{block_quant, gguf_layout};
use crate::pipelines::{rag_pipeline, request_path};

/// One finished figure: its file name under [`crate::facts::OUT_DIR`].
pub struct Figure {
    pub file: &'static str,
    pub svg: String,
}

/// The width of every diagram, in pixels.
pub const W: f64 = 760.0;

/// Every diagram, in the order the book meets them.
pub fn all(repo: &Path) -> Vec<Figure> {
    let m = ModelFacts::read(repo);
    vec![
        Figure {
            file: "attention.svg",
            svg: attention(&m, repo),
        },
        Figure {
            file: "gqa.svg",
            svg: gqa(&m),
        },
        Figure {
            file: "kv-cache.svg",
            svg: kv_cache(&m, repo),
        },
        Figure {
            file: "gguf-layout.svg",
            svg: gguf_layout(&m),
        },
        Figure {
            file: "block-quant.svg",
            svg: block_quant(),
        },
        Figure {
            file: "lora.svg",
            svg: lora(&m, repo),
        },
        Figure {
            file: "rag-pipeline.svg",
            svg: rag_pipeline(repo),
        },
        Figure {
            file: "request-path.svg",
            svg: request_path(repo),
        },
    ]
}

/// Causal self-attention of one head, with the model's real widths.
fn attention(m: &ModelFacts, repo: &Path) -> String {
    let src = Source::open(repo, "crates/model/src/attention.rs");
    src.require("mul_scalar(self.scale)");
    // the scale is 1/√head_dim unless a family says otherwise (Gemma)
    Source::open(repo, "crates/model/src/family.rs")
        .require("attn_scale: 1.0 / (config.head_dim as f32).sqrt()");
    src.require("tril_mask");
    src.require("softmax(scores, 3)");
    let (d, hd) = (m.d_model, m.head_dim);

    let mut g = Diagram::new(W, 400.0);
    g.text(
        g.mid_x(),
        28.0,
        &format!(
            "Causal self-attention: one of the {} heads of a layer",
            m.n_heads
        ),
        Font::TITLE,
    );
    // the input, and the three projections
    g.boxed(
        (20.0, 160.0, 110.0, 60.0),
        fill::GREY,
        &["x", &format!("[T, {d}]")],
        Font::LABEL,
    );
    let proj = [
        ("Q = x·W_q", 70.0),
        ("K = x·W_k", 160.0),
        ("V = x·W_v", 250.0),
    ];
    for (label, y) in proj {
        g.boxed(
            (180.0, y, 130.0, 60.0),
            fill::BLUE,
            &[label, &format!("[T, {hd}]")],
            Font::LABEL,
        );
        g.arrow(130.0, 190.0, 180.0, y + 30.0);
    }
    // the score grid: T = 6 positions, causal mask above the diagonal
    let (gx, gy, cell, t) = (400.0, 80.0, 24.0, 6);
    g.text(
        gx + cell * t as f64 / 2.0,
        gy - 28.0,
        &format!("scores = Q·Kᵀ / √{hd}   [T, T]"),
        Font::LABEL,
    );
    g.text(
        gx + cell * t as f64 / 2.0,
        gy - 10.0,
        "key position →",
        Font::LABEL.size(11.0),
    );
    for i in 0..t {
        for j in 0..t {
            let masked = j > i;
            let color = if masked { fill::GREY } else { fill::ORANGE };
            g.rect(
                gx + cell * j as f64,
                gy + cell * i as f64,
                cell,
                cell,
                color,
            );
            if masked {
                g.text(
                    gx + cell * (j as f64 + 0.5),
                    gy + cell * (i as f64 + 0.5) + 4.0,
                    "−∞",
                    Font::LABEL.size(10.0),
                );
            }
        }
    }
    g.lines(
        gx - 14.0,
        gy + cell * 3.0,
        &["query", "position", "↓"],
        Font::LABEL.size(11.0).end(),
    );
    g.arrow(310.0, 100.0, gx, gy + 30.0);
    g.arrow(310.0, 190.0, gx, gy + 100.0);
    g.lines(
        gx + cell * 3.0,
        gy + cell * t as f64 + 24.0,
        &[
            "a token sees itself and earlier ones:",
            "the mask sets later positions to −∞",
        ],
        Font::LABEL.size(11.0),
    );
    // softmax, then the weighted sum of values
    g.boxed(
        (600.0, 95.0, 140.0, 60.0),
        fill::GREEN,
        &["softmax", "each row sums to 1"],
        Font::LABEL,
    );
    g.arrow(gx + cell * t as f64, gy + 48.0, 600.0, 125.0);
    g.boxed(
        (600.0, 250.0, 140.0, 60.0),
        fill::PURPLE,
        &["weights · V", &format!("[T, {hd}]")],
        Font::LABEL,
    );
    g.arrow(670.0, 155.0, 670.0, 250.0);
    g.arrow(310.0, 280.0, 600.0, 280.0);
    g.lines(
        W / 2.0,
        360.0,
        &[
            &format!(
                "The {} heads' outputs, side by side, are [T, {}]; W_o maps them back to the residual stream.",
                m.n_heads,
                m.n_heads * hd
            ),
            "While generating, K and V of earlier positions come from the KV cache.",
        ],
        Font::LABEL.size(12.0),
    );
    g.finish()
}

/// Which query heads share which key/value head.
fn gqa(m: &ModelFacts) -> String {
    let (h, kvh, group) = (m.n_heads, m.n_kv_heads, m.group());
    let colors = [
        fill::BLUE,
        fill::ORANGE,
        fill::GREEN,
        fill::PURPLE,
        fill::RED,
        fill::YELLOW,
    ];
    let mut g = Diagram::new(W, 330.0);
    g.text(
        g.mid_x(),
        28.0,
        &format!("Grouped-query attention: {h} query heads share {kvh} key/value heads"),
        Font::TITLE,
    );
    let (bw, gap) = (62.0, 12.0);
    let left = (W - (h as f64 * (bw + gap) - gap)) / 2.0;
    let q_x = |i: usize| left + i as f64 * (bw + gap);
    for i in 0..h {
        g.boxed(
            (q_x(i), 60.0, bw, 44.0),
            colors[i / group % colors.len()],
            &[&format!("Q {i}")],
            Font::LABEL,
        );
    }
    for k in 0..kvh {
        // centred under its group of query heads
        let first = q_x(k * group);
        let last = q_x(k * group + group - 1) + bw;
        let (x, w) = ((first + last) / 2.0 - 70.0, 140.0);
        g.boxed(
            (x, 180.0, w, 50.0),
            colors[k % colors.len()],
            &[&format!("K {k}, V {k}")],
            Font::LABEL,
        );
        for i in k * group..(k + 1) * group {
            g.line(q_x(i) + bw / 2.0, 104.0, x + w / 2.0, 180.0, false);
        }
    }
    let kib = |n: usize| n as f64 / 1024.0;
    g.lines(
        W / 2.0,
        280.0,
        &[
            &format!(
                "Each head is [T, {}]. Query head i reads K and V head i / {group}, so the cache keeps {kvh} heads:",
                m.head_dim
            ),
            &format!(
                "2 × {} layers × {kvh} heads × {} × 4 B = {:.0} KiB per token in f32; {:.0} KiB if each of the {h} query heads had its own.",
                m.n_layers,
                m.head_dim,
                kib(m.kv_bytes_per_token(kvh)),
                kib(m.kv_bytes_per_token(h))
            ),
        ],
        Font::LABEL.size(12.0),
    );
    g.finish()
}

/// One layer's pre-allocated K and V tensors, filled up to `len`.
fn kv_cache(m: &ModelFacts, repo: &Path) -> String {
    let src = Source::open(repo, "crates/infer/src/kv_cache.rs");
    src.require("`[batch, kv_heads, max_seq, head_dim]`");
    src.require("slice_assign(s![.., .., start..end, ..], k)");
    let (kvh, hd) = (m.n_kv_heads, m.head_dim);
    let mut g = Diagram::new(W, 420.0);
    g.text(
        g.mid_x(),
        28.0,
        &format!(
            "The KV cache of one layer: K and V, each [1, {kvh}, max_seq, {hd}], allocated once"
        ),
        Font::TITLE.size(17.0),
    );
    let (x0, cell, n_cells, filled) = (120.0, 20.0, 28, 17);
    for (t, (name, top)) in [("K", 70.0), ("V", 200.0)].into_iter().enumerate() {
        for head in 0..kvh {
            let y = top + head as f64 * 30.0;
            g.text(
                x0 - 10.0,
                y + 15.0,
                &format!("{name}, head {head}"),
                Font::LABEL.size(12.0).end(),
            );
            for p in 0..n_cells {
                let color = match p {
                    p if p < filled => fill::BLUE,
                    p if p == filled => fill::ORANGE,
                    _ => fill::WHITE,
                };
                g.rect(x0 + p as f64 * cell, y, cell, 22.0, color);
            }
        }
        if t == 0 {
            let x = x0 + filled as f64 * cell + cell / 2.0;
            g.arrow(x, 54.0, x, 68.0);
            g.text(
                x,
                50.0,
                "the new token's row is written here",
                Font::LABEL.size(11.0),
            );
        }
    }
    let axis_y = 300.0;
    g.arrow(x0, axis_y, x0 + n_cells as f64 * cell, axis_y);
    g.text(
        x0,
        axis_y + 16.0,
        "position 0",
        Font::LABEL.size(11.0).start(),
    );
    g.text(
        x0 + filled as f64 * cell,
        axis_y + 16.0,
        "len",
        Font::LABEL.size(11.0),
    );
    g.text(
        x0 + n_cells as f64 * cell,
        axis_y + 16.0,
        "max_seq",
        Font::LABEL.size(11.0).end(),
    );
    // legend
    let ly = 340.0;
    for (i, (color, label)) in [
        (fill::BLUE, "filled: positions 0..len"),
        (fill::ORANGE, "written this step"),
        (fill::WHITE, "allocated, still empty"),
    ]
    .into_iter()
    .enumerate()
    {
        let x = 120.0 + i as f64 * 200.0;
        g.rect(x, ly, 16.0, 16.0, color);
        g.text(x + 22.0, ly + 12.0, label, Font::LABEL.size(12.0).start());
    }
    let per_token = m.kv_bytes_per_token(kvh) as u64;
    let ctx = m.context as u64;
    g.text(
        W / 2.0,
        395.0,
        &format!(
            "Each cell: one position's {hd} numbers. × {} layers: {} B per token in f32; its {} positions: {} MiB.",
            m.n_layers,
            thousands(per_token),
            thousands(ctx),
            per_token * ctx / (1 << 20)
        ),
        Font::LABEL.size(12.0),
    );
    g.finish()
}

/// A LoRA adapter beside the query projection of a layer.
fn lora(m: &ModelFacts, repo: &Path) -> String {
    let config = Source::open(repo, "crates/lora/src/config.rs");
    let (rank, alpha) = (8usize, 16.0f64);
    config.require(&format!("rank: {rank},"));
    config.require(&format!("alpha: {alpha:.1},"));
    Source::open(repo, "crates/lora/src/attach.rs")
        .require("let b = Tensor::<2>::zeros([r, d_out]");
    let (d_in, d_out) = (m.d_model, m.n_heads * m.head_dim);
    let mut g = Diagram::new(W, 400.0);
    g.text(
        g.mid_x(),
        28.0,
        &format!("LoRA on W_q: rank {rank} beside a frozen {d_in} × {d_out} weight"),
        Font::TITLE,
    );
    g.boxed(
        (20.0, 170.0, 100.0, 50.0),
        fill::GREY,
        &["x", &format!("[1, {d_in}]")],
        Font::LABEL,
    );
    // the frozen path
    g.boxed(
        (230.0, 55.0, 150.0, 110.0),
        fill::GREY,
        &[
            "W (frozen)",
            &format!("{d_in} × {d_out}"),
            &format!("{} numbers", thousands((d_in * d_out) as u64)),
        ],
        Font::LABEL,
    );
    g.arrow(120.0, 185.0, 230.0, 110.0);
    // the adapter: A tall and thin, B short and wide
    g.boxed(
        (230.0, 215.0, 30.0, 130.0),
        fill::ORANGE,
        &["A"],
        Font::LABEL.bold(),
    );
    g.text(
        245.0,
        362.0,
        &format!("{d_in} × {rank}"),
        Font::LABEL.size(11.0),
    );
    g.arrow(120.0, 205.0, 230.0, 270.0);
    g.boxed(
        (300.0, 262.0, 130.0, 30.0),
        fill::ORANGE,
        &["B"],
        Font::LABEL.bold(),
    );
    g.text(
        365.0,
        310.0,
        &format!("{rank} × {d_out}"),
        Font::LABEL.size(11.0),
    );
    g.arrow(260.0, 277.0, 300.0, 277.0);
    g.boxed(
        (460.0, 252.0, 90.0, 50.0),
        fill::YELLOW,
        &[&format!("× α/r = {}", alpha / rank as f64), "(scale)"],
        Font::LABEL.size(12.0),
    );
    g.arrow(430.0, 277.0, 460.0, 277.0);
    // the sum
    g.boxed((590.0, 170.0, 40.0, 40.0), fill::WHITE, &["+"], Font::TITLE);
    g.arrow(380.0, 110.0, 590.0, 185.0);
    g.arrow(550.0, 277.0, 605.0, 210.0);
    g.boxed(
        (660.0, 165.0, 80.0, 50.0),
        fill::GREY,
        &["y", &format!("[1, {d_out}]")],
        Font::LABEL,
    );
    g.arrow(630.0, 190.0, 660.0, 190.0);
    let trained = rank * (d_in + d_out);
    g.lines(
        470.0,
        350.0,
        &[
            &format!(
                "trained: A and B, {} numbers ({:.1}% of W)",
                thousands(trained as u64),
                100.0 * trained as f64 / (d_in * d_out) as f64
            ),
            "B starts at zero, so training starts from the unchanged model",
        ],
        Font::LABEL.size(12.0),
    );
    g.finish()
}
