//! Small SVG charts for the book's measured figures, on `plotters`.
//!
//! Two kinds of chart cover every figure so far:
//! - [`line_chart`]: one line (with a marker at each point) per named series,
//!   e.g. perplexity vs sparsity per pruning method, a loss curve;
//! - [`scatter_chart`]: labelled points, e.g. file size vs KL divergence per
//!   quantization mix.
//!
//! A [`Chart`] holds the title and axis names; `log_y` puts the y axis on a
//! log scale (perplexity spans 10 to 10,000 once a model breaks). The SVG is
//! text: it diffs in git and the book embeds it with `![](figures/x.svg)`.
//!
//! [`diagram`] is the other half: a small SVG builder (boxes, text, arrows)
//! for the book's conceptual figures, which `examples/diagrams` draws from
//! the code's real shapes.

pub mod diagram;

use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("nothing to plot: no finite points")]
    Empty,
    #[error("log-scale y axis needs positive values, got {0}")]
    NonPositiveLogY(f64),
    #[error("drawing {path}: {message}")]
    Draw { path: String, message: String },
}

/// Title and axes of a chart.
#[derive(Debug, Clone, Copy)]
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Log-scale y axis.
    pub log_y: bool,
}

impl<'a> Chart<'a> {
    pub fn new(title: &'a str, x_label: &'a str, y_label: &'a str) -> Self {
        Chart {
            title,
            x_label,
            y_label,
            log_y: false,
        }
    }

    pub fn log_y(self) -> Self {
        Chart {
            log_y: true,
            ..self
        }
    }
}

/// One named line of a [`line_chart`].
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Draws each series as a line with a marker at each point, with a legend.
pub fn line_chart(
    path: impl AsRef<Path>,
    chart: &Chart,
    series: &[Series],
) -> Result<(), PlotError> {
    draw(path.as_ref(), chart, series, &[])
}

/// Draws points, each with its label written next to it.
pub fn scatter_chart(
    path: impl AsRef<Path>,
    chart: &Chart,
    points: &[(&str, f64, f64)],
) -> Result<(), PlotError> {
    draw(path.as_ref(), chart, &[], points)
}

const SIZE: (u32, u32) = (800, 500);

/// Line colours, in order (matplotlib's first six: they stay apart in print).
const COLORS: [RGBColor; 6] = [
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// An axis label: `10`, `0.25`, `1e6` rather than `10.0` or `1000000.0`.
fn tick(v: &f64) -> String {
    if v.abs() >= 1e5 {
        return format!("{v:.0e}");
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn draw(
    path: &Path,
    chart: &Chart,
    series: &[Series],
    labelled: &[(&str, f64, f64)],
) -> Result<(), PlotError> {
    let all = series.iter().flat_map(|s| s.points.iter().copied());
    let all: Vec<(f64, f64)> = all
        .chain(labelled.iter().map(|&(_, x, y)| (x, y)))
        .collect();
    let (xs, ys) = (
        bounds(all.iter().map(|p| p.0))?,
        bounds(all.iter().map(|p| p.1))?,
    );
    let err = |e: String| PlotError::Draw {
        path: path.display().to_string(),
        message: e,
    };
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    let result = if chart.log_y {
        if ys.start <= 0.0 {
            return Err(PlotError::NonPositiveLogY(ys.start));
        }
        // A little headroom above and below, by ratio on a log axis.
        let y = (ys.start / 1.2..ys.end * 1.2).log_scale();
        render(&root, chart, pad(xs), y, series, labelled)
    } else {
        render(&root, chart, pad(xs), pad(ys), series, labelled)
    };
    result
        .and_then(|()| root.present().map_err(|e| e.to_string()))
        .map_err(err)
}

/// `min..max` of the finite values.
fn bounds(values: impl Iterator<Item = f64>) -> Result<Range<f64>, PlotError> {
    let finite = values.filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        Err(PlotError::Empty)
    } else {
        Ok(lo..hi)
    }
}

/// The range grown by 5% each side (and made non-empty), so no point sits on a border.
fn pad(r: Range<f64>) -> Range<f64> {
    let margin = ((r.end - r.start) * 0.05).max(r.end.abs() * 0.05).max(1e-9);
    r.start - margin..r.end + margin
}

// One function for both y axes: a linear and a log axis are different types in plotters.
fn render<Y>(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    chart: &Chart,
    x: Range<f64>,
    y: Y,
    series: &[Series],
    labelled: &[(&str, f64, f64)],
) -> Result<(), String>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let e = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut ctx = ChartBuilder::on(root)
        .caption(chart.title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x, y)
        .map_err(|x| e(&x))?;
    ctx.configure_mesh()
        .x_desc(chart.x_label)
        .y_desc(chart.y_label)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .draw()
        .map_err(|x| e(&x))?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite());
        ctx.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(s.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        ctx.draw_series(points.map(|p| Circle::new(p, 3, color.filled())))
            .map_err(|x| e(&x))?;
    }
    let style = ("sans-serif", 13).into_font();
    let marks = labelled.iter().map(|&(label, x, y)| {
        EmptyElement::at((x, y))
            + Circle::new((0, 0), 3, BLUE.filled())
            + Text::new(label.to_string(), (5, -12), style.clone())
    });
    ctx.draw_series(marks).map_err(|x| e(&x))?;
    if !series.is_empty() {
        ctx.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|x| e(&x))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg(f: impl FnOnce(&Path) -> Result<(), PlotError>) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.svg");
        f(&path).unwrap();
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn line_chart_writes_legend_and_labels() {
        let series = [
            Series {
                name: "magnitude".into(),
                points: vec![(0.0, 10.0), (0.5, 80.0)],
            },
            Series {
                name: "wanda".into(),
                points: vec![(0.0, 10.0), (0.5, 30.0)],
            },
        ];
        let chart = Chart::new("ppl vs sparsity", "sparsity", "perplexity").log_y();
        let text = svg(|p| line_chart(p, &chart, &series));
        for needle in [
            "<svg",
            "ppl vs sparsity",
            "sparsity",
            "perplexity",
            "magnitude",
            "wanda",
            "<circle",
        ] {
            assert!(text.contains(needle), "{needle} missing");
        }
    }

    #[test]
    fn scatter_chart_labels_each_point() {
        let chart = Chart::new("size vs KLD", "MiB", "KLD");
        let text =
            svg(|p| scatter_chart(p, &chart, &[("Q4_0", 80.0, 0.05), ("Q8_0", 140.0, 0.001)]));
        assert!(text.contains("Q4_0") && text.contains("Q8_0"));
        assert_eq!(text.matches("<circle").count(), 2);
    }

    #[test]
    fn bad_input_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.svg");
        let chart = Chart::new("t", "x", "y");
        assert!(matches!(line_chart(&p, &chart, &[]), Err(PlotError::Empty)));
        let neg = [Series {
            name: "s".into(),
            points: vec![(0.0, -1.0), (1.0, 2.0)],
        }];
        assert!(matches!(
            line_chart(&p, &chart.log_y(), &neg),
            Err(PlotError::NonPositiveLogY(_))
        ));
    }
}
