//! What every Ollama answer shares: the NDJSON stream, the timings of the
//! last object (nanoseconds), `done_reason`, and `created_at` timestamps.

use std::convert::Infallible;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::FLAVOR;
use crate::error::{ApiError, Kind};
use crate::sse::{Converted, converted_stream};
use crate::wire::to_json;
use crate::worker::{Done, Event, Finish};

// ANCHOR: ndjson
/// A streamed answer: `first`, then what `convert` makes of each worker
/// event, one JSON object per line (`application/x-ndjson`).
pub fn ndjson<F>(first: Vec<Value>, events: mpsc::UnboundedReceiver<Event>, convert: F) -> Response
where
    F: FnMut(Event) -> Converted<Value> + Send + 'static,
{
    let lines = converted_stream(first, events, convert)
        .map(|object| Ok::<_, Infallible>(Bytes::from(to_json(&object) + "\n")));
    let content_type = [(header::CONTENT_TYPE, "application/x-ndjson")];
    (content_type, Body::from_stream(lines)).into_response()
}
// ANCHOR_END: ndjson

/// The clock of one request, from the handler's first line to `done`.
pub struct Clock {
    start: Instant,
    /// When the worker said the prompt was in (generation starts).
    started: Option<Instant>,
    queued: Duration,
    prompt_time: Duration,
}

impl Clock {
    pub fn start() -> Self {
        Clock {
            start: Instant::now(),
            started: None,
            queued: Duration::ZERO,
            prompt_time: Duration::ZERO,
        }
    }

    /// Notes the worker's `Started` event (other events pass through).
    pub fn see(&mut self, event: &Event) {
        if let Event::Started {
            queued,
            prompt_time,
            ..
        } = event
        {
            self.started = Some(Instant::now());
            (self.queued, self.prompt_time) = (*queued, *prompt_time);
        }
    }

    // ANCHOR: stats
    /// The last object's statistics. `load_duration` is the time the request
    /// waited for the model (the model itself is loaded once, at start),
    /// which is what Ollama counts there when its model is already loaded.
    pub fn stats(&self, done: &Done) -> Stats {
        let nanos = |d: Duration| d.as_nanos() as u64;
        let eval = self.started.map_or(Duration::ZERO, |s| s.elapsed());
        Stats {
            done_reason: done_reason(&done.finish),
            total_duration: nanos(self.start.elapsed()),
            load_duration: nanos(self.queued),
            prompt_eval_count: done.prompt_tokens,
            prompt_eval_duration: nanos(self.prompt_time),
            eval_count: done.completion_tokens,
            eval_duration: nanos(eval),
        }
    }
    // ANCHOR_END: stats
}

/// The statistics of the last object of an answer.
#[derive(Serialize)]
pub struct Stats {
    pub done_reason: &'static str,
    pub total_duration: u64,
    pub load_duration: u64,
    pub prompt_eval_count: usize,
    pub prompt_eval_duration: u64,
    pub eval_count: usize,
    pub eval_duration: u64,
}

pub fn done_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::EndOfTurn | Finish::StopString(_) => "stop",
        Finish::Length => "length",
    }
}

/// Waits for a whole answer, timing it.
pub async fn collect(
    mut events: mpsc::UnboundedReceiver<Event>,
    clock: &mut Clock,
) -> Result<(String, Done), ApiError> {
    let mut text = String::new();
    while let Some(event) = events.recv().await {
        clock.see(&event);
        match event {
            Event::Started { .. } => {}
            Event::Text(piece) => text.push_str(&piece),
            Event::Done(done) => return Ok((text, done)),
            Event::Error(message) => return Err(ApiError::new(FLAVOR, Kind::Internal, message)),
        }
    }
    let message = "the model thread has stopped";
    Err(ApiError::new(FLAVOR, Kind::Internal, message))
}

/// `now` as Ollama writes `created_at`: RFC 3339 in UTC, microseconds.
pub fn now() -> String {
    timestamp(SystemTime::now())
}

pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let micros = d.subsec_micros();
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{micros:06}Z")
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against `date -u -d @SECONDS +%FT%T` (GNU coreutils).
    #[test]
    fn timestamps_are_utc_rfc3339() {
        let at = |secs: u64, micros: u64| {
            timestamp(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(1_700_000_000, 123_456), "2023-11-14T22:13:20.123456Z");
        assert_eq!(at(951_782_400, 0), "2000-02-29T00:00:00.000000Z");
        assert_eq!(at(4_107_542_399, 0), "2100-02-28T23:59:59.000000Z");
    }
}
