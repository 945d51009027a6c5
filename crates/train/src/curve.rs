//! The loss curve of a run, as JSON (the numbers) and SVG (the picture).

use std::path::Path;

use locallm_plot::{Chart, Series, line_chart};
use serde_json::json;

use crate::TrainError;

/// Writes `DIR/loss.json` and `DIR/loss.svg`: training loss per step and
/// held-out loss (with its perplexity) at the steps that measured it.
pub fn write_loss_curve(
    dir: &Path,
    title: &str,
    losses: &[f32],
    eval_losses: &[(usize, f32)],
) -> Result<(), TrainError> {
    let json_path = dir.join("loss.json");
    let body = json!({
        "train_loss": losses,
        "held_out": eval_losses.iter().map(|&(step, loss)| json!({
            "step": step, "loss": loss, "perplexity": (loss as f64).exp(),
        })).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&body).expect("JSON of numbers");
    crate::write_atomic(&json_path, text.as_bytes()).map_err(|source| TrainError::Io {
        path: json_path.display().to_string(),
        source,
    })?;
    let mut series = vec![Series {
        name: "training loss".into(),
        points: (losses.iter().enumerate())
            .map(|(i, &l)| ((i + 1) as f64, l as f64))
            .collect(),
    }];
    if !eval_losses.is_empty() {
        series.push(Series {
            name: "held-out loss".into(),
            points: eval_losses
                .iter()
                .map(|&(s, l)| (s as f64, l as f64))
                .collect(),
        });
    }
    let chart = Chart::new(title, "step", "loss (nats per token)");
    line_chart(dir.join("loss.svg"), &chart, &series).map_err(|e| TrainError::Config(e.to_string()))
}
