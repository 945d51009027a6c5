//! Byte layouts: the default model's GGUF file and three quantized blocks.

use locallm_plot::diagram::{Diagram, Font, fill};
use locallm_quant::blocks::q4_1::{BlockQ4_1, QK4_1};
use locallm_quant::blocks::q4_k::BlockQ4K;
use locallm_quant::blocks::q8_0::{BlockQ8_0, QK8_0};
use locallm_quant::blocks::q8_k::QK_K;

use crate::facts::{ModelFacts, thousands};
use crate::figures::W;

/// The GGUF file of the default model, to scale, with its first bytes zoomed.
pub fn gguf_layout(m: &ModelFacts) -> String {
    let mut g = Diagram::new(W, 470.0);
    g.text(
        g.mid_x(),
        28.0,
        &format!("The layout of {}", m.file_name),
        Font::TITLE.size(17.0),
    );
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
        (
            x0 + px(embd.file_offset, m.file_size),
            y1,
            px(embd.n_bytes, m.file_size),
            40.0,
        ),
        fill::BLUE,
        &[&format!("{} ({})", embd.name, ty(embd))],
        Font::CODE.size(11.0),
    );
    g.boxed(
        (
            x0 + px(embd_end, m.file_size),
            y1,
            px(m.file_size - embd_end, m.file_size),
            40.0,
        ),
        fill::GREEN,
        &[&format!(
            "blk.0 … blk.{}: the layers' weights and norms",
            m.n_layers - 1
        )],
        Font::LABEL.size(12.0),
    );
    assert!(
        m.file_size - blocks_end < 4096,
        "only small tensors follow the layers"
    );

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
    g.boxed(
        (x0, y2, header_w, 50.0),
        fill::PURPLE,
        &["header", "24 B"],
        Font::LABEL.size(12.0),
    );
    g.boxed(
        (x0 + header_w, y2, meta_w, 50.0),
        fill::ORANGE,
        &[
            &format!("metadata: {} keys, {} B", m.kv_count, thousands(meta)),
            "(with the padding to a multiple of 32)",
        ],
        Font::LABEL.size(12.0),
    );
    let dir_x = x0 + header_w + meta_w;
    g.rect(dir_x, y2, rest - meta_w, 50.0, fill::YELLOW);
    g.line(
        dir_x + (rest - meta_w) / 2.0,
        y2 + 50.0,
        dir_x - 20.0,
        y2 + 66.0,
        false,
    );
    g.text(
        dir_x - 24.0,
        y2 + 70.0,
        &format!(
            "tensor directory: {} entries, {} B",
            m.tensors.len(),
            thousands(dir)
        ),
        Font::LABEL.size(12.0).end(),
    );
    g.text(
        x0,
        y2 - 10.0,
        &format!(
            "its first {} bytes, to scale but for the header",
            thousands(m.data_offset)
        ),
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
        "tensor directory: per tensor its name, dimensions, type, and where its data starts"
            .to_string(),
    ];
    for (i, l) in lines.iter().enumerate() {
        g.text(
            x0,
            305.0 + i as f64 * 20.0,
            l,
            Font::LABEL.size(12.0).start(),
        );
    }
    g.text(
        x0,
        385.0,
        "the first tensors of the directory:",
        Font::LABEL.size(12.0).start().bold(),
    );
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
pub fn block_quant() -> String {
    const PX: f64 = 5.0;
    let mut g = Diagram::new(W, 440.0);
    g.text(
        g.mid_x(),
        28.0,
        "Quantized blocks, byte by byte (5 px per byte)",
        Font::TITLE,
    );
    // (name, bytes, fill, whether the name fits inside)
    type Field = (&'static str, usize, &'static str, bool);
    let rows: [(&str, usize, usize, Vec<Field>, &str); 3] = [
        (
            "Q8_0",
            QK8_0,
            BlockQ8_0::SIZE,
            vec![
                ("d", 2, fill::RED, false),
                ("32 × int8", QK8_0, fill::BLUE, true),
            ],
            "x = q · d",
        ),
        (
            "Q4_1",
            QK4_1,
            BlockQ4_1::SIZE,
            vec![
                ("d", 2, fill::RED, false),
                ("m", 2, fill::ORANGE, false),
                ("32 × 4 bit", QK4_1 / 2, fill::BLUE, true),
            ],
            "x = q · d + m; byte j: weight j (low 4 bits), j + 16 (high)",
        ),
        (
            "Q4_K",
            QK_K,
            BlockQ4K::SIZE,
            vec![
                ("d", 2, fill::RED, false),
                ("dmin", 2, fill::ORANGE, false),
                ("scales", 12, fill::PURPLE, true),
                ("sub-blocks 0, 1", QK_K / 8, fill::BLUE, true),
                ("sub-blocks 2, 3", QK_K / 8, fill::GREEN, true),
                ("sub-blocks 4, 5", QK_K / 8, fill::BLUE, true),
                ("sub-blocks 6, 7", QK_K / 8, fill::GREEN, true),
            ],
            "8 sub-blocks of 32, 6-bit scales and mins (12 B); 32 B of codes hold 2 sub-blocks",
        ),
    ];
    let x0 = 20.0;
    for (i, (name, weights, size, fields, rule)) in rows.iter().enumerate() {
        let y = 80.0 + i as f64 * 125.0;
        assert_eq!(fields.iter().map(|f| f.1).sum::<usize>(), *size, "{name}");
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
        for &(label, bytes, color, inside) in fields {
            let w = bytes as f64 * PX;
            g.rect(x, y, w, 34.0, color);
            if inside {
                g.text(x + w / 2.0, y + 21.0, label, Font::LABEL.size(11.0));
            } else {
                // a 2-byte field is 10 px wide: its name goes under it, one
                // step lower than its left neighbour's
                let depth = y + 48.0 + 14.0 * narrow.len() as f64;
                g.line(x + w / 2.0, y + 34.0, x + w / 2.0, depth, false);
                g.text(
                    x + w / 2.0 + 3.0,
                    depth + 4.0,
                    label,
                    Font::LABEL.size(11.0).start(),
                );
                narrow.push(label);
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
