//! How fast a generation ran, in the numbers llama.cpp prints.
//!
//! The two phases have different speeds and are reported apart: *prefill*
//! (the whole prompt in one batch, compute-bound) and *decode* (one token per
//! forward pass, bounded by memory bandwidth). Time to first token (TTFT) is
//! what a user waits before text starts to appear.

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

/// Counts and timings of one generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenerationStats {
    /// Prompt tokens run through the model (cached prefix tokens excluded).
    pub prompt_tokens: usize,
    /// Tokens yielded by the generation.
    pub generated_tokens: usize,
    /// From the start to the end of prefill.
    pub prompt_time: Duration,
    /// From the start to the first generated token; `None` if there was none.
    pub ttft: Option<Duration>,
    /// From the first generated token to the last. The first token is
    /// sampled from the prefill's logits, so this span holds the
    /// `generated_tokens - 1` forward passes of the decode loop.
    pub decode_time: Duration,
}

impl GenerationStats {
    /// Prompt tokens per second of prefill; `None` when no time was measured.
    pub fn prefill_tok_s(&self) -> Option<f64> {
        rate(self.prompt_tokens, self.prompt_time)
    }

    /// Tokens per second of the decode loop: one forward pass per token
    /// after the first (see [`GenerationStats::decode_time`]); `None` for
    /// fewer than two tokens.
    pub fn decode_tok_s(&self) -> Option<f64> {
        rate(self.generated_tokens.saturating_sub(1), self.decode_time)
    }
}

fn rate(tokens: usize, time: Duration) -> Option<f64> {
    (tokens > 0 && !time.is_zero()).then(|| tokens as f64 / time.as_secs_f64())
}

/// `prompt: 7 tokens, 123.4 tok/s | generation: 16 tokens, 45.6 tok/s | TTFT 57 ms`
impl fmt::Display for GenerationStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let speed = |r: Option<f64>| r.map_or("n/a tok/s".to_string(), |r| format!("{r:.1} tok/s"));
        let ttft = self
            .ttft
            .map_or("n/a".to_string(), |t| format!("{:.0} ms", ms(t)));
        write!(
            f,
            "prompt: {} tokens, {} | generation: {} tokens, {} | TTFT {ttft}",
            self.prompt_tokens,
            speed(self.prefill_tok_s()),
            self.generated_tokens,
            speed(self.decode_tok_s()),
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

/// The JSON shape: times in milliseconds, rates included, `null` when undefined.
#[derive(Serialize)]
struct StatsJson {
    prompt_tokens: usize,
    generated_tokens: usize,
    prompt_ms: f64,
    ttft_ms: Option<f64>,
    decode_ms: f64,
    prefill_tok_s: Option<f64>,
    decode_tok_s: Option<f64>,
}

impl Serialize for GenerationStats {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StatsJson {
            prompt_tokens: self.prompt_tokens,
            generated_tokens: self.generated_tokens,
            prompt_ms: ms(self.prompt_time),
            ttft_ms: self.ttft.map(ms),
            decode_ms: ms(self.decode_time),
            prefill_tok_s: self.prefill_tok_s(),
            decode_tok_s: self.decode_tok_s(),
        }
        .serialize(serializer)
    }
}

// ANCHOR: recorder
/// Collects the timestamps as the generation loop passes them:
/// `start()` before prefill, `prompt_done(n)` after it, `token()` per token.
/// Each event has an `_at` twin taking the time since start, for tests.
#[derive(Debug, Clone)]
pub struct StatsRecorder {
    start: Instant,
    prompt_tokens: usize,
    prompt_done: Option<Duration>,
    generated: usize,
    first_token: Option<Duration>,
    last_token: Option<Duration>,
}

impl StatsRecorder {
    pub fn start() -> Self {
        StatsRecorder {
            start: Instant::now(),
            prompt_tokens: 0,
            prompt_done: None,
            generated: 0,
            first_token: None,
            last_token: None,
        }
    }

    /// Prefill of `n` prompt tokens has finished.
    pub fn prompt_done(&mut self, n: usize) {
        self.prompt_done_at(n, self.start.elapsed());
    }

    pub fn prompt_done_at(&mut self, n: usize, since_start: Duration) {
        self.prompt_tokens = n;
        self.prompt_done = Some(since_start);
    }

    /// One token has been generated.
    pub fn token(&mut self) {
        self.token_at(self.start.elapsed());
    }

    pub fn token_at(&mut self, since_start: Duration) {
        self.generated += 1;
        self.first_token.get_or_insert(since_start);
        self.last_token = Some(since_start);
    }

    /// The stats so far (the recorder can go on recording).
    pub fn finish(&self) -> GenerationStats {
        let first = self.first_token.unwrap_or_default();
        GenerationStats {
            prompt_tokens: self.prompt_tokens,
            generated_tokens: self.generated,
            prompt_time: self.prompt_done.unwrap_or_default(),
            ttft: self.first_token,
            decode_time: self.last_token.unwrap_or_default().saturating_sub(first),
        }
    }
}
// ANCHOR_END: recorder

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// 7 prompt tokens prefilled in 70 ms, then 16 tokens 20 ms apart from 80 ms.
    fn recorded() -> GenerationStats {
        let mut r = StatsRecorder::start();
        r.prompt_done_at(7, millis(70));
        for i in 0..16 {
            r.token_at(millis(80 + 20 * i));
        }
        r.finish()
    }

    #[test]
    fn recorder_turns_timestamps_into_spans() {
        let s = recorded();
        assert_eq!(s.prompt_tokens, 7);
        assert_eq!(s.generated_tokens, 16);
        assert_eq!(s.prompt_time, millis(70));
        assert_eq!(s.ttft, Some(millis(80)));
        assert_eq!(s.decode_time, millis(300)); // 80 ms .. 380 ms
    }

    #[test]
    fn rates_count_forward_passes() {
        let s = recorded();
        assert!((s.prefill_tok_s().unwrap() - 100.0).abs() < 1e-9); // 7 / 0.07 s
        assert!((s.decode_tok_s().unwrap() - 50.0).abs() < 1e-9); // 15 / 0.3 s
    }

    #[test]
    fn display_is_one_line_like_llama_cpp() {
        assert_eq!(
            recorded().to_string(),
            "prompt: 7 tokens, 100.0 tok/s | generation: 16 tokens, 50.0 tok/s | TTFT 80 ms"
        );
    }

    #[test]
    fn undefined_rates_are_none_not_infinite() {
        let mut r = StatsRecorder::start();
        assert_eq!(r.finish(), GenerationStats::default());
        r.prompt_done_at(3, Duration::ZERO);
        assert_eq!(r.finish().prefill_tok_s(), None);
        r.token_at(millis(5));
        let s = r.finish();
        assert_eq!(
            (s.generated_tokens, s.ttft, s.decode_tok_s()),
            (1, Some(millis(5)), None)
        );
        assert_eq!(
            s.to_string(),
            "prompt: 3 tokens, n/a tok/s | generation: 1 tokens, n/a tok/s | TTFT 5 ms"
        );
        assert_eq!(
            GenerationStats::default().to_string(),
            "prompt: 0 tokens, n/a tok/s | generation: 0 tokens, n/a tok/s | TTFT n/a"
        );
    }

    #[test]
    fn json_has_milliseconds_and_rates() {
        let json = serde_json::to_value(recorded()).unwrap();
        assert_eq!(json["prompt_tokens"], 7);
        assert_eq!(json["generated_tokens"], 16);
        assert_eq!(json["prompt_ms"], 70.0);
        assert_eq!(json["ttft_ms"], 80.0);
        assert_eq!(json["decode_ms"], 300.0);
        assert!((json["prefill_tok_s"].as_f64().unwrap() - 100.0).abs() < 1e-9);
        assert!((json["decode_tok_s"].as_f64().unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(json.as_object().unwrap().len(), 7);
        let empty = serde_json::to_value(GenerationStats::default()).unwrap();
        assert_eq!(empty["ttft_ms"], serde_json::Value::Null);
        assert_eq!(empty["decode_tok_s"], serde_json::Value::Null);
    }

    #[test]
    fn real_clock_is_monotonic() {
        let mut r = StatsRecorder::start();
        r.prompt_done(2);
        r.token();
        r.token();
        let s = r.finish();
        assert_eq!((s.prompt_tokens, s.generated_tokens), (2, 2));
        assert!(s.ttft.unwrap() >= s.prompt_time);
    }
}
