//! Ollama's `options` (its Modelfile parameters), each used or refused.
//!
//! A client may send any of Ollama's parameters; the server must not pretend
//! to honour one it does not. So every key is in one of three groups:
//!
//! - **used**: `temperature`, `top_k`, `top_p`, `min_p`, `repeat_penalty`,
//!   `repeat_last_n`, `presence_penalty`, `frequency_penalty`, `seed`,
//!   `num_predict`, `stop`, and `num_ctx` (a smaller window for this
//!   request; more than the server's `--ctx` is refused);
//! - **accepted at their neutral value only**: `typical_p: 1`, `tfs_z: 1`,
//!   `mirostat: 0`, `penalize_newline: true` (what the sampler does anyway);
//! - **refused**: everything else — load-time settings (`num_gpu`,
//!   `num_thread`, `use_mmap`, ...: the model was loaded at start, with the
//!   `locallm serve` flags), `num_keep`, mirostat's `tau`/`eta`, and any key
//!   Ollama does not have either.

use locallm_infer::SamplerConfig;
use locallm_infer::sampler::entropy_seed;
use serde_json::{Map, Value};

use super::bad;
use crate::error::ApiError;

/// What a request's `options` ask for.
pub struct Settings {
    pub sampler: SamplerConfig,
    /// `num_predict`: `None` for "until the context is full" (its `-1`/`-2`).
    pub max_tokens: Option<usize>,
    pub stop: Vec<String>,
    /// `num_ctx`: this request's window (prompt + answer), if smaller than
    /// the server's.
    pub num_ctx: Option<usize>,
}

/// Settings that only the model loader has: refused per request.
const LOAD_TIME: &[&str] = &[
    "numa",
    "num_batch",
    "num_gpu",
    "main_gpu",
    "low_vram",
    "vocab_only",
    "use_mmap",
    "use_mlock",
    "num_thread",
    "embedding_only",
    "logits_all",
    "f16_kv",
    "num_gqa",
    "rope_frequency_base",
    "rope_frequency_scale",
];

// ANCHOR: parse
/// Reads `options`; `context` is the server's window (`--ctx`).
pub fn parse(options: Option<&Map<String, Value>>, context: usize) -> Result<Settings, ApiError> {
    let d = SamplerConfig::default();
    let mut settings = Settings {
        sampler: SamplerConfig {
            seed: entropy_seed(),
            ..d
        },
        max_tokens: None,
        stop: Vec::new(),
        num_ctx: None,
    };
    let Some(options) = options else {
        return Ok(settings);
    };
    let s = &mut settings.sampler;
    for (key, value) in options {
        let name = key.as_str();
        match name {
            "temperature" => s.temperature = float(name, value)?,
            "top_p" => s.top_p = float(name, value)?,
            "min_p" => s.min_p = float(name, value)?,
            "repeat_penalty" => s.repeat_penalty = float(name, value)?,
            "presence_penalty" => s.presence_penalty = float(name, value)?,
            "frequency_penalty" => s.frequency_penalty = float(name, value)?,
            "top_k" => s.top_k = count(name, value)?,
            // Ollama: -1 means "the whole context"
            "repeat_last_n" => {
                s.repeat_last_n = match integer(name, value)? {
                    -1 => context,
                    n => count(name, &Value::from(n))?,
                }
            }
            // a negative seed asks for a random one
            "seed" => {
                let seed = integer(name, value)?;
                s.seed = u64::try_from(seed).unwrap_or_else(|_| entropy_seed());
            }
            // -1 (until the end) and -2 (fill the context) are both "no limit" here
            "num_predict" => {
                settings.max_tokens = match integer(name, value)? {
                    -2 | -1 => None,
                    n if n >= 1 => Some(n as usize),
                    n => {
                        return Err(bad(format!(
                            "`num_predict` must be -1, -2 or >= 1, got {n}"
                        )));
                    }
                }
            }
            "stop" => settings.stop = strings(name, value)?,
            "num_ctx" => {
                let n = count(name, value)?;
                if n > context {
                    return Err(bad(format!(
                        "`num_ctx` {n} is more than this server's context of {context} tokens \
                         (start `locallm serve` with a larger --ctx)"
                    )));
                }
                settings.num_ctx = Some(n);
            }
            // accepted at the value that means "off", which is what we do
            "typical_p" | "tfs_z" => neutral(name, value, &Value::from(1.0))?,
            "mirostat" => neutral(name, value, &Value::from(0))?,
            "penalize_newline" => neutral(name, value, &Value::Bool(true))?,
            _ if LOAD_TIME.contains(&name) => {
                return Err(bad(format!(
                    "option `{name}` is a load-time setting: this server loaded its model at \
                     start (see `locallm serve --help`)"
                )));
            }
            "num_keep" | "mirostat_tau" | "mirostat_eta" => {
                return Err(bad(format!(
                    "option `{name}` is not supported by this server"
                )));
            }
            _ => return Err(bad(format!("unknown option `{name}`"))),
        }
    }
    Ok(settings)
}
// ANCHOR_END: parse

fn float(name: &str, value: &Value) -> Result<f32, ApiError> {
    value
        .as_f64()
        .map(|v| v as f32)
        .ok_or_else(|| bad(format!("option `{name}` must be a number, got {value}")))
}

fn integer(name: &str, value: &Value) -> Result<i64, ApiError> {
    value
        .as_i64()
        .ok_or_else(|| bad(format!("option `{name}` must be an integer, got {value}")))
}

fn count(name: &str, value: &Value) -> Result<usize, ApiError> {
    value.as_u64().map(|v| v as usize).ok_or_else(|| {
        bad(format!(
            "option `{name}` must be an integer >= 0, got {value}"
        ))
    })
}

/// `stop`: a list of strings (or one string).
fn strings(name: &str, value: &Value) -> Result<Vec<String>, ApiError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad(format!("option `{name}` must be a list of strings"))),
        _ => Err(bad(format!("option `{name}` must be a list of strings"))),
    }
}

/// Only the value that turns the feature off is accepted.
fn neutral(name: &str, value: &Value, off: &Value) -> Result<(), ApiError> {
    let same = match (value.as_f64(), off.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => value == off,
    };
    if same {
        Ok(())
    } else {
        Err(bad(format!(
            "option `{name}` is only supported at {off} (off); this server's sampler has no {name}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse_json(options: Value) -> Result<Settings, ApiError> {
        parse(options.as_object(), 512)
    }

    #[test]
    fn used_options_reach_the_sampler() {
        let s = parse_json(json!({
            "temperature": 0.2, "top_k": 7, "top_p": 0.5, "min_p": 0.1, "seed": 3,
            "repeat_penalty": 1.1, "repeat_last_n": -1, "num_predict": 9, "stop": ["\n"],
            "num_ctx": 256, "presence_penalty": 0.5, "frequency_penalty": 0.25,
        }))
        .unwrap_or_else(|e| panic!("{}", e.message));
        let c = &s.sampler;
        assert_eq!(
            (c.temperature, c.top_k, c.top_p, c.min_p),
            (0.2, 7, 0.5, 0.1)
        );
        assert_eq!((c.seed, c.repeat_penalty, c.repeat_last_n), (3, 1.1, 512));
        assert_eq!((c.presence_penalty, c.frequency_penalty), (0.5, 0.25));
        assert_eq!(
            (s.max_tokens, s.stop, s.num_ctx),
            (Some(9), vec!["\n".to_string()], Some(256))
        );
    }

    #[test]
    fn others_are_refused_by_name() {
        for (options, says) in [
            (json!({"num_gpu": 1}), "load-time"),
            (json!({"mirostat": 2}), "mirostat"),
            (json!({"typical_p": 0.7}), "typical_p"),
            (json!({"num_keep": 5}), "num_keep"),
            (json!({"wizardry": 1}), "unknown option `wizardry`"),
            (json!({"num_ctx": 4096}), "--ctx"),
            (json!({"num_predict": 0}), "num_predict"),
            (json!({"top_k": -1}), "top_k"),
        ] {
            let err = parse_json(options.clone()).err().expect("refused");
            assert!(err.message.contains(says), "{options}: {}", err.message);
        }
        // the neutral values are fine
        parse_json(json!({"typical_p": 1.0, "tfs_z": 1, "mirostat": 0, "penalize_newline": true}))
            .unwrap_or_else(|e| panic!("{}", e.message));
    }
}
