//! The book's diagrams, one function each, drawn from [`ModelFacts`] and
//! the code's own constants. Coordinates are in pixels on a 760-wide canvas.

use std::path::Path;

use locallm_plot::diagram::{Diagram, Font, fill};
use locallm_quant::blocks::q4_1::{BlockQ4_1, QK4_1};
use locallm_quant::blocks::q4_k::BlockQ4K;
use locallm_quant::blocks::q8_0::{BlockQ8_0, QK8_0};
use locallm_quant::blocks::q8_k::QK_K;

use crate::facts::{ModelFacts, Source, thousands};

/// One finished figure: its file name under [`crate::facts::OUT_DIR`].
pub struct Figure {
    pub file: &'static str,
    pub svg: String,
}

const W: f64 = 760.0;

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
    src.require("div_scalar((hd as f32).sqrt())");
    src.require("tril_mask");
    src.require("softmax(scores, 3)");
    let (d, hd) = (m.d_model, m.head_dim);

    let mut g = Diagram::new(W, 400.0);
    g.text(
        g.mid_x(),
        28.0,
        &format!("Causal self-attention: one of the {} heads of a layer", m.n_heads),
        Font::TITLE,
    );
    // the input, and the three projections
    g.boxed(20.0, 160.0, 110.0, 60.0, fill::GREY, &["x", &format!("[T, {d}]")], Font::LABEL);
    let proj = [("Q = x·W_q", 70.0), ("K = x·W_k", 160.0), ("V = x·W_v", 250.0)];
    for (label, y) in proj {
        g.boxed(
            180.0,
            y,
            130.0,
            60.0,
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
    g.text(gx + cell * t as f64 / 2.0, gy - 10.0, "key position →", Font::LABEL.size(11.0));
    for i in 0..t {
        for j in 0..t {
            let masked = j > i;
            let color = if masked { fill::GREY } else { fill::ORANGE };
            g.rect(gx + cell * j as f64, gy + cell * i as f64, cell, cell, color);
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
        &["a token sees itself and earlier ones:", "the mask sets later positions to −∞"],
        Font::LABEL.size(11.0),
    );
    // softmax, then the weighted sum of values
    g.boxed(600.0, 95.0, 140.0, 60.0, fill::GREEN, &["softmax", "each row sums to 1"], Font::LABEL);
    g.arrow(gx + cell * t as f64, gy + 48.0, 600.0, 125.0);
    g.boxed(
        600.0,
        250.0,
        140.0,
        60.0,
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
    let colors = [fill::BLUE, fill::ORANGE, fill::GREEN, fill::PURPLE, fill::RED, fill::YELLOW];
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
        g.boxed(q_x(i), 60.0, bw, 44.0, colors[i / group % colors.len()], &[&format!("Q {i}")], Font::LABEL);
    }
    for k in 0..kvh {
        // centred under its group of query heads
        let first = q_x(k * group);
        let last = q_x(k * group + group - 1) + bw;
        let (x, w) = ((first + last) / 2.0 - 70.0, 140.0);
        g.boxed(x, 180.0, w, 50.0, colors[k % colors.len()], &[&format!("K {k}, V {k}")], Font::LABEL);
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
        &format!("The KV cache of one layer: K and V, each [1, {kvh}, max_seq, {hd}], allocated once"),
        Font::TITLE.size(17.0),
    );
    let (x0, cell, n_cells, filled) = (120.0, 20.0, 28, 17);
    for (t, (name, top)) in [("K", 70.0), ("V", 200.0)].into_iter().enumerate() {
        for head in 0..kvh {
            let y = top + head as f64 * 30.0;
            g.text(x0 - 10.0, y + 15.0, &format!("{name}, head {head}"), Font::LABEL.size(12.0).end());
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
            g.text(x, 50.0, "the new token's row is written here", Font::LABEL.size(11.0));
        }
    }
    let axis_y = 300.0;
    g.arrow(x0, axis_y, x0 + n_cells as f64 * cell, axis_y);
    g.text(x0, axis_y + 16.0, "position 0", Font::LABEL.size(11.0).start());
    g.text(
        x0 + filled as f64 * cell,
        axis_y + 16.0,
        "len",
        Font::LABEL.size(11.0),
    );
    g.text(x0 + n_cells as f64 * cell, axis_y + 16.0, "max_seq", Font::LABEL.size(11.0).end());
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

/// The GGUF file of the default model, to scale, with its first bytes zoomed.
fn gguf_layout(m: &ModelFacts) -> String {
    let mut g = Diagram::new(W, 470.0);
    g.text(g.mid_x(), 28.0, &format!("The layout of {}", m.file_name), Font::TITLE.size(17.0));
    let (x0, bar) = (30.0, 700.0);
    let px = |bytes: u64, total: u64| bytes as f64 / total as f64 * bar;
    let ty = |t: &crate::facts::Tensor| t.ty.name().to_uppercase();

    // the whole file, to scale
    let y1 = 80.0;
    g.text(
        x0,
        y1 - 10.0,
        &format!(
            "the whole file, to scale: {} bytes; the tensor data starts at byte {}",
            thousands(m.file_size),
            thousands(m.data_offset)
        ),
        Font::LABEL.size(12.0).start(),
    );
    let head_w = px(m.data_offset, m.file_size);
    g.rect(x0, y1, head_w, 40.0, fill::RED);
    // the data: token_embd, then the layers, then whatever follows them
    let embd = &m.tensors[0];
    let blocks_end = m
        .tensors
        .iter()
        .filter(|t| t.name.starts_with("blk."))
        .map(|t| t.file_offset + t.n_bytes)
        .max()
        .expect("blk tensors");
    let embd_end = embd.file_offset + embd.n_bytes;
    g.boxed(
        x0 + px(embd.file_offset, m.file_size),
        y1,
        px(embd.n_bytes, m.file_size),
        40.0,
        fill::BLUE,
        &[&format!("{} ({})", embd.name, ty(embd))],
        Font::CODE.size(11.0),
    );
    g.boxed(
        x0 + px(embd_end, m.file_size),
        y1,
        px(m.file_size - embd_end, m.file_size),
        40.0,
        fill::GREEN,
        &[&format!("blk.0 … blk.{}: the layers' weights and norms", m.n_layers - 1)],
        Font::LABEL.size(12.0),
    );
    assert!(m.file_size - blocks_end < 4096, "only small tensors follow the layers");

    // the first data_offset bytes, zoomed
    let y2 = 200.0;
    g.line(x0, y1 + 40.0, x0, y2, true);
    g.line(x0 + head_w, y1 + 40.0, x0 + bar, y2, true);
    let dir = m.directory_bytes();
    let header = 24; // magic, version, tensor count, key count
    let meta = m.data_offset - header - dir; // with the alignment padding at its end
    let header_w = 70.0; // 24 bytes would be a hair: drawn wider, and said so
    let rest = bar - header_w;
    let meta_w = meta as f64 / (meta + dir) as f64 * rest;
    g.boxed(x0, y2, header_w, 50.0, fill::PURPLE, &["header", "24 B"], Font::LABEL.size(12.0));
    g.boxed(
        x0 + header_w,
        y2,
        meta_w,
        50.0,
        fill::ORANGE,
        &[
            &format!("metadata: {} keys, {} B", m.kv_count, thousands(meta)),
            "(with the padding to a multiple of 32)",
        ],
        Font::LABEL.size(12.0),
    );
    let dir_x = x0 + header_w + meta_w;
    g.rect(dir_x, y2, rest - meta_w, 50.0, fill::YELLOW);
    g.line(dir_x + (rest - meta_w) / 2.0, y2 + 50.0, dir_x - 20.0, y2 + 66.0, false);
    g.text(
        dir_x - 24.0,
        y2 + 70.0,
        &format!("tensor directory: {} entries, {} B", m.tensors.len(), thousands(dir)),
        Font::LABEL.size(12.0).end(),
    );
    g.text(
        x0,
        y2 - 10.0,
        &format!("its first {} bytes, to scale but for the header", thousands(m.data_offset)),
        Font::LABEL.size(12.0).start(),
    );

    // what each part holds
    let lines = [
        format!(
            "header: \"GGUF\", version {}, {} tensors, {} metadata keys",
            m.version,
            m.tensors.len(),
            m.kv_count
        ),
        format!(
            "metadata: the llama.* hyper-parameters, the tokenizer ({} tokens, {} merges), the chat template",
            thousands(m.vocab as u64),
            thousands(m.n_merges as u64)
        ),
        "tensor directory: per tensor its name, dimensions, type, and where its data starts".to_string(),
    ];
    for (i, l) in lines.iter().enumerate() {
        g.text(x0, 305.0 + i as f64 * 20.0, l, Font::LABEL.size(12.0).start());
    }
    g.text(x0, 385.0, "the first tensors of the directory:", Font::LABEL.size(12.0).start().bold());
    for (i, t) in m.tensors.iter().take(3).enumerate() {
        let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        g.text(
            x0,
            405.0 + i as f64 * 18.0,
            &format!(
                "{:<23} {:<5} {:<12} {:>10} B  at data + {}",
                t.name,
                ty(t),
                format!("[{}]", dims.join(", ")),
                thousands(t.n_bytes),
                thousands(t.file_offset - m.data_offset)
            ),
            Font::CODE.start(),
        );
    }
    g.finish()
}

/// The bytes of a Q8_0, a Q4_1 and a Q4_K block, 5 px per byte.
fn block_quant() -> String {
    const PX: f64 = 5.0;
    let mut g = Diagram::new(W, 440.0);
    g.text(g.mid_x(), 28.0, "Quantized blocks, byte by byte (5 px per byte)", Font::TITLE);
    struct Field {
        label: &'static str,
        bytes: usize,
        color: &'static str,
        inside: bool,
    }
    let rows: [(&str, usize, usize, Vec<Field>, &str); 3] = [
        (
            "Q8_0",
            QK8_0,
            BlockQ8_0::SIZE,
            vec![
                Field { label: "d", bytes: 2, color: fill::RED, inside: false },
                Field { label: "32 × int8", bytes: QK8_0, color: fill::BLUE, inside: true },
            ],
            "x = q · d",
        ),
        (
            "Q4_1",
            QK4_1,
            BlockQ4_1::SIZE,
            vec![
                Field { label: "d", bytes: 2, color: fill::RED, inside: false },
                Field { label: "m", bytes: 2, color: fill::ORANGE, inside: false },
                Field { label: "32 × 4 bit", bytes: QK4_1 / 2, color: fill::BLUE, inside: true },
            ],
            "x = q · d + m; byte j: weight j (low 4 bits), j + 16 (high)",
        ),
        (
            "Q4_K",
            QK_K,
            BlockQ4K::SIZE,
            vec![
                Field { label: "d", bytes: 2, color: fill::RED, inside: false },
                Field { label: "dmin", bytes: 2, color: fill::ORANGE, inside: false },
                Field { label: "scales", bytes: 12, color: fill::PURPLE, inside: true },
                Field { label: "sub-blocks 0, 1", bytes: 32, color: fill::BLUE, inside: true },
                Field { label: "sub-blocks 2, 3", bytes: 32, color: fill::GREEN, inside: true },
                Field { label: "sub-blocks 4, 5", bytes: 32, color: fill::BLUE, inside: true },
                Field { label: "sub-blocks 6, 7", bytes: 32, color: fill::GREEN, inside: true },
            ],
            "8 sub-blocks of 32, 6-bit scales and mins (12 B); 32 B of codes hold 2 sub-blocks",
        ),
    ];
    let x0 = 20.0;
    for (i, (name, weights, size, fields, rule)) in rows.iter().enumerate() {
        let y = 80.0 + i as f64 * 125.0;
        assert_eq!(fields.iter().map(|f| f.bytes).sum::<usize>(), *size, "{name}");
        g.text(
            x0,
            y - 22.0,
            &format!(
                "{name}: {weights} weights in {size} bytes = {} bits per weight",
                *size as f64 * 8.0 / *weights as f64
            ),
            Font::LABEL.start().bold(),
        );
        let mut x = x0;
        let mut narrow = Vec::new();
        for f in fields {
            let w = f.bytes as f64 * PX;
            g.rect(x, y, w, 34.0, f.color);
            if f.inside {
                g.text(x + w / 2.0, y + 21.0, f.label, Font::LABEL.size(11.0));
            } else {
                // a 2-byte field is 10 px wide: its name goes under it, one
                // step lower than its left neighbour's
                let depth = y + 48.0 + 14.0 * narrow.len() as f64;
                g.line(x + w / 2.0, y + 34.0, x + w / 2.0, depth, false);
                g.text(x + w / 2.0 + 3.0, depth + 4.0, f.label, Font::LABEL.size(11.0).start());
                narrow.push(f.label);
            }
            x += w;
        }
        g.text(
            x0 + 80.0,
            y + 52.0,
            &format!("{rule}; {}: f16", narrow.join(", ")),
            Font::LABEL.size(11.0).start(),
        );
    }
    g.finish()
}

/// A LoRA adapter beside the query projection of a layer.
fn lora(m: &ModelFacts, repo: &Path) -> String {
    let config = Source::open(repo, "crates/lora/src/config.rs");
    let (rank, alpha) = (8usize, 16.0f64);
    config.require(&format!("rank: {rank},"));
    config.require(&format!("alpha: {alpha:.1},"));
    Source::open(repo, "crates/lora/src/attach.rs").require("let b = Tensor::<2>::zeros([r, d_out]");
    let (d_in, d_out) = (m.d_model, m.n_heads * m.head_dim);
    let mut g = Diagram::new(W, 400.0);
    g.text(
        g.mid_x(),
        28.0,
        &format!("LoRA on W_q: rank {rank} beside a frozen {d_in} × {d_out} weight"),
        Font::TITLE,
    );
    g.boxed(20.0, 170.0, 100.0, 50.0, fill::GREY, &["x", &format!("[1, {d_in}]")], Font::LABEL);
    // the frozen path
    g.boxed(
        230.0,
        55.0,
        150.0,
        110.0,
        fill::GREY,
        &["W (frozen)", &format!("{d_in} × {d_out}"), &format!("{} numbers", thousands((d_in * d_out) as u64))],
        Font::LABEL,
    );
    g.arrow(120.0, 185.0, 230.0, 110.0);
    // the adapter: A tall and thin, B short and wide
    g.boxed(230.0, 215.0, 30.0, 130.0, fill::ORANGE, &["A"], Font::LABEL.bold());
    g.text(245.0, 362.0, &format!("{d_in} × {rank}"), Font::LABEL.size(11.0));
    g.arrow(120.0, 205.0, 230.0, 270.0);
    g.boxed(300.0, 262.0, 130.0, 30.0, fill::ORANGE, &["B"], Font::LABEL.bold());
    g.text(365.0, 310.0, &format!("{rank} × {d_out}"), Font::LABEL.size(11.0));
    g.arrow(260.0, 277.0, 300.0, 277.0);
    g.boxed(
        460.0,
        252.0,
        90.0,
        50.0,
        fill::YELLOW,
        &[&format!("× α/r = {}", alpha / rank as f64), "(scale)"],
        Font::LABEL.size(12.0),
    );
    g.arrow(430.0, 277.0, 460.0, 277.0);
    // the sum
    g.boxed(590.0, 170.0, 40.0, 40.0, fill::WHITE, &["+"], Font::TITLE);
    g.arrow(380.0, 110.0, 590.0, 185.0);
    g.arrow(550.0, 277.0, 605.0, 210.0);
    g.boxed(660.0, 165.0, 80.0, 50.0, fill::GREY, &["y", &format!("[1, {d_out}]")], Font::LABEL);
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

/// Ingest once, then per question: retrieve two ways, fuse, prompt.
fn rag_pipeline(repo: &Path) -> String {
    let pipeline = Source::open(repo, "crates/rag/src/pipeline.rs");
    pipeline.require("size: 120,");
    pipeline.require("overlap: 30,");
    let embed = Source::open(repo, "crates/rag/src/embed.rs");
    embed.require("const D: usize = 384;");
    embed.require("pub const MAX_TOKENS: usize = 256;");
    let hybrid = Source::open(repo, "crates/rag/src/hybrid.rs");
    hybrid.require("pub const RRF_K: f64 = 60.0;");

    let mut g = Diagram::new(W, 400.0);
    g.text(g.mid_x(), 28.0, "Retrieval-augmented generation (locallm-rag)", Font::TITLE);
    let f = Font::LABEL.size(12.0);
    // ingest lane
    g.text(20.0, 62.0, "ingest, once per document", Font::LABEL.start().bold());
    let lane1 = 75.0;
    g.boxed(20.0, lane1, 120.0, 56.0, fill::GREY, &["documents"], f);
    g.boxed(180.0, lane1, 160.0, 56.0, fill::BLUE, &["chunk_text", "120 words, 30 overlap", "cut at paragraphs"], f);
    g.boxed(380.0, lane1, 160.0, 56.0, fill::PURPLE, &["embed (MiniLM)", "≤ 256 tokens", "→ 384 numbers"], f);
    g.boxed(580.0, lane1, 160.0, 56.0, fill::ORANGE, &["store (SQLite)", "text, hash, vector"], f);
    g.arrow(140.0, lane1 + 28.0, 180.0, lane1 + 28.0);
    g.arrow(340.0, lane1 + 28.0, 380.0, lane1 + 28.0);
    g.arrow(540.0, lane1 + 28.0, 580.0, lane1 + 28.0);
    // ask lane
    g.text(20.0, 182.0, "ask, every question", Font::LABEL.start().bold());
    let lane2 = 200.0;
    g.boxed(20.0, lane2 + 40.0, 120.0, 56.0, fill::GREY, &["question"], f);
    g.boxed(180.0, lane2, 160.0, 50.0, fill::BLUE, &["BM25 ranking", "(words)"], f);
    g.boxed(180.0, lane2 + 86.0, 160.0, 50.0, fill::PURPLE, &["cosine ranking", "(embedded question)"], f);
    g.arrow(140.0, lane2 + 60.0, 180.0, lane2 + 25.0);
    g.arrow(140.0, lane2 + 76.0, 180.0, lane2 + 111.0);
    g.line(660.0, lane1 + 56.0, 660.0, 165.0, true);
    g.line(660.0, 165.0, 260.0, 165.0, true);
    g.arrow(260.0, 165.0, 260.0, lane2);
    g.boxed(380.0, lane2 + 40.0, 140.0, 56.0, fill::YELLOW, &["reciprocal rank", "fusion, k = 60"], f);
    g.arrow(340.0, lane2 + 25.0, 380.0, lane2 + 58.0);
    g.arrow(340.0, lane2 + 111.0, 380.0, lane2 + 78.0);
    g.boxed(560.0, lane2 + 40.0, 180.0, 56.0, fill::GREEN, &["prompt: sources [1] [2] [3]", "+ the question"], f);
    g.arrow(520.0, lane2 + 68.0, 560.0, lane2 + 68.0);
    g.boxed(560.0, lane2 + 130.0, 180.0, 50.0, fill::RED, &["model → answer", "citing [n]"], f);
    g.arrow(650.0, lane2 + 96.0, 650.0, lane2 + 130.0);
    g.finish()
}

/// From the client's HTTP request to the model thread and back.
fn request_path(repo: &Path) -> String {
    let app = Source::open(repo, "crates/serve/src/app.rs");
    for route in ["\"/v1/chat/completions\"", "\"/v1/messages\"", "\"/v1/responses\"", "\"/v1/completions\""] {
        app.require(route);
    }
    app.require("async fn auth(");
    app.require("pub fn submit(");
    let worker = Source::open(repo, "crates/serve/src/worker.rs");
    worker.require("fn run_job(");
    worker.require("is_closed()");
    let lib = Source::open(repo, "crates/serve/src/lib.rs");
    lib.require("(Anthropic: 529, \"overloaded\")");

    let mut g = Diagram::new(W, 370.0);
    g.text(g.mid_x(), 28.0, "A request's path through locallm serve", Font::TITLE);
    let f = Font::LABEL.size(12.0);
    let c = Font::CODE.size(11.0);
    g.boxed(20.0, 150.0, 90.0, 80.0, fill::GREY, &["client", "(SDK, curl,", "chat page)"], f);
    // going in: the async side (tokio)
    g.text(140.0, 62.0, "tokio tasks (async)", Font::LABEL.start().bold());
    g.boxed(140.0, 75.0, 160.0, 70.0, fill::BLUE, &["router", "/v1/chat/completions", "/v1/messages …"], c);
    g.boxed(320.0, 75.0, 120.0, 70.0, fill::BLUE, &["auth", "--api-key: Bearer", "or x-api-key"], f);
    g.boxed(460.0, 75.0, 140.0, 70.0, fill::BLUE, &["handler: parse,", "chat template,", "tokenize, context"], f);
    g.arrow(110.0, 170.0, 140.0, 115.0);
    g.arrow(300.0, 110.0, 320.0, 110.0);
    g.arrow(440.0, 110.0, 460.0, 110.0);
    // admission and the queue
    g.boxed(620.0, 75.0, 120.0, 70.0, fill::YELLOW, &["--parallel N", "places; full:", "503 (or 529)"], f);
    g.arrow(600.0, 110.0, 620.0, 110.0);
    g.boxed(620.0, 180.0, 120.0, 50.0, fill::ORANGE, &["submit: Job", "FIFO queue"], f);
    g.arrow(680.0, 145.0, 680.0, 180.0);
    // the model thread
    g.text(460.0, 262.0, "one model thread", Font::LABEL.start().bold());
    g.boxed(
        460.0,
        275.0,
        280.0,
        70.0,
        fill::RED,
        &["run_job: prefill (KV cache reused), then", "one token per step; stops when the", "client has gone (is_closed)"],
        f,
    );
    g.arrow(680.0, 230.0, 680.0, 275.0);
    // coming back
    g.boxed(
        150.0,
        275.0,
        260.0,
        70.0,
        fill::GREEN,
        &["Event channel → one JSON answer,", "or server-sent events:", "data: {…} chunks, then [DONE]"],
        f,
    );
    g.arrow(460.0, 310.0, 410.0, 310.0);
    g.arrow(150.0, 300.0, 80.0, 230.0);
    g.finish()
}
