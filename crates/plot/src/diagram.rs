//! A small SVG builder for the book's conceptual diagrams (attention, the
//! GGUF layout, a quantized block...): boxes with centred labels, text,
//! lines and arrows on a fixed canvas.
//!
//! The charts in the crate root plot data on axes; a diagram places shapes
//! by hand, with sizes computed from the code's real shapes by the caller
//! (`cargo run -p locallm-plot --example diagrams`). The output is plain,
//! deterministic text (coordinates rounded to 0.1), so a test can compare a
//! committed figure with what the generator writes now.

use std::fmt::Write;

/// Fill colours, light enough for black text on top (ColorBrewer's Pastel1,
/// which stays distinct in greyscale print too).
pub mod fill {
    pub const BLUE: &str = "#b3cde3";
    pub const RED: &str = "#fbb4ae";
    pub const GREEN: &str = "#ccebc5";
    pub const PURPLE: &str = "#decbe4";
    pub const ORANGE: &str = "#fed9a6";
    pub const YELLOW: &str = "#ffffcc";
    pub const GREY: &str = "#e5e5e5";
    pub const WHITE: &str = "#ffffff";
}

/// How a piece of text is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Font {
    pub size: f64,
    pub bold: bool,
    /// `start`, `middle` or `end`: where `x` is, along the text.
    pub anchor: &'static str,
    pub monospace: bool,
}

impl Font {
    /// 13 px, centred: the default for labels.
    pub const LABEL: Font = Font {
        size: 13.0,
        bold: false,
        anchor: "middle",
        monospace: false,
    };
    /// 12 px monospace, centred: names from the code (`blk.0.attn_q.weight`).
    pub const CODE: Font = Font {
        size: 12.0,
        bold: false,
        anchor: "middle",
        monospace: true,
    };
    /// 18 px bold, centred: a figure's title.
    pub const TITLE: Font = Font {
        size: 18.0,
        bold: true,
        anchor: "middle",
        monospace: false,
    };

    pub fn size(self, size: f64) -> Font {
        Font { size, ..self }
    }
    pub fn bold(self) -> Font {
        Font { bold: true, ..self }
    }
    pub fn start(self) -> Font {
        Font {
            anchor: "start",
            ..self
        }
    }
    pub fn end(self) -> Font {
        Font {
            anchor: "end",
            ..self
        }
    }
}

/// A diagram being drawn: a white canvas of `width × height` pixels.
#[derive(Debug, Clone)]
pub struct Diagram {
    width: f64,
    height: f64,
    body: String,
}

/// A coordinate as written into the SVG: rounded to 0.1 px, no `-0`.
fn n(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 { "0".into() } else { format!("{r}") }
}

/// Text with `&`, `<`, `>` and `"` escaped for XML.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Diagram {
    pub fn new(width: f64, height: f64) -> Self {
        Diagram {
            width,
            height,
            body: String::new(),
        }
    }

    /// Centre of the canvas, for titles.
    pub fn mid_x(&self) -> f64 {
        self.width / 2.0
    }

    /// One line of text whose baseline is at `y`; runs of spaces are kept
    /// (columns of monospace text stay aligned).
    pub fn text(&mut self, x: f64, y: f64, text: &str, font: Font) {
        let family = if font.monospace {
            "monospace"
        } else {
            "sans-serif"
        };
        let weight = if font.bold {
            " font-weight=\"bold\""
        } else {
            ""
        };
        writeln!(
            self.body,
            "<text x=\"{}\" y=\"{}\" font-family=\"{family}\" font-size=\"{}\"{weight} text-anchor=\"{}\" xml:space=\"preserve\">{}</text>",
            n(x),
            n(y),
            n(font.size),
            font.anchor,
            xml(text)
        )
        .expect("writing to a String");
    }

    /// Lines of text centred vertically on `y` (one per entry).
    pub fn lines(&mut self, x: f64, y: f64, lines: &[&str], font: Font) {
        let step = font.size * 1.25;
        // the baseline of the first line, so the block's middle sits at y
        let first = y - step * (lines.len() as f64 - 1.0) / 2.0 + font.size * 0.35;
        for (i, line) in lines.iter().enumerate() {
            self.text(x, first + step * i as f64, line, font);
        }
    }

    /// A filled rectangle with a thin dark border.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str) {
        writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"#333333\" stroke-width=\"1\"/>",
            n(x),
            n(y),
            n(w),
            n(h)
        )
        .expect("writing to a String");
    }

    /// A rectangle (x, y, width, height) with `lines` of text centred in it.
    pub fn boxed(&mut self, area: (f64, f64, f64, f64), fill: &str, lines: &[&str], font: Font) {
        let (x, y, w, h) = area;
        self.rect(x, y, w, h, fill);
        self.lines(x + w / 2.0, y + h / 2.0, lines, font);
    }

    /// A straight line; `dashed` for "the same thing, elsewhere".
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, dashed: bool) {
        let dash = if dashed {
            " stroke-dasharray=\"4 3\""
        } else {
            ""
        };
        writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333333\" stroke-width=\"1.2\"{dash}/>",
            n(x1),
            n(y1),
            n(x2),
            n(y2)
        )
        .expect("writing to a String");
    }

    /// A line with an arrow head at `(x2, y2)`.
    pub fn arrow(&mut self, x1: f64, y1: f64, x2: f64, y2: f64) {
        self.line(x1, y1, x2, y2, false);
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let (ux, uy) = (dx / len, dy / len);
        // two points 8 px back along the line, 4 px either side of it
        let (bx, by) = (x2 - 8.0 * ux, y2 - 8.0 * uy);
        let (px, py) = (-uy * 4.0, ux * 4.0);
        writeln!(
            self.body,
            "<polygon points=\"{},{} {},{} {},{}\" fill=\"#333333\"/>",
            n(x2),
            n(y2),
            n(bx + px),
            n(by + py),
            n(bx - px),
            n(by - py)
        )
        .expect("writing to a String");
    }

    /// The finished SVG document.
    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n\
             <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n{}</svg>\n",
            self.body,
            w = n(self.width),
            h = n(self.height),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_rounded_and_text_escaped() {
        let mut d = Diagram::new(100.0, 50.0);
        d.rect(0.04, 1.25, 10.0, -0.0001, fill::BLUE);
        d.text(5.0, 5.0, "a < b & \"c\"", Font::LABEL);
        let svg = d.finish();
        assert!(
            svg.contains("<rect x=\"0\" y=\"1.3\" width=\"10\" height=\"0\""),
            "{svg}"
        );
        assert!(
            svg.contains(">a &lt; b &amp; &quot;c&quot;</text>"),
            "{svg}"
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\""));
        assert!(svg.ends_with("</svg>\n"));
    }

    #[test]
    fn an_arrow_head_sits_on_the_end_point() {
        let mut d = Diagram::new(100.0, 100.0);
        d.arrow(0.0, 50.0, 100.0, 50.0);
        let svg = d.finish();
        assert!(
            svg.contains("<polygon points=\"100,50 92,54 92,46\""),
            "{svg}"
        );
    }

    #[test]
    fn lines_are_centred_on_y() {
        let mut d = Diagram::new(100.0, 100.0);
        d.lines(50.0, 50.0, &["one", "two"], Font::LABEL.size(10.0));
        let svg = d.finish();
        // 12.5 px apart, around y = 50 (+ 3.5 to centre the x-height)
        assert!(svg.contains("y=\"47.3\""), "{svg}");
        assert!(svg.contains("y=\"59.8\""), "{svg}");
    }
}
