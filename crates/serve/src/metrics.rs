//! What `/metrics` counts, and the Prometheus text format it is written in.
//!
//! The worker fills the token counters and the two histograms (time to
//! first token, decode speed); the HTTP layer counts requests by route and
//! status. Nothing here holds content: no prompt, no answer, no client
//! address — only counts and durations.
//!
//! ```text
//! # HELP llamacpp:tokens_predicted_total Number of generation tokens processed.
//! # TYPE llamacpp:tokens_predicted_total counter
//! llamacpp:tokens_predicted_total 42
//! ```

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Seconds from a request's arrival at the worker's queue to its first
/// token: queue wait + prompt + one decode step.
pub const FIRST_TOKEN_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// One request's decode speed, in tokens per second.
pub const DECODE_RATE_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0];

/// A Prometheus histogram: cumulative bucket counts, sum and count.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    data: Mutex<HistogramData>,
}

#[derive(Debug, Default, Clone)]
struct HistogramData {
    /// Observations `<= bounds[i]` and above the bound before (not yet cumulative).
    counts: Vec<u64>,
    /// Observations above the last bound.
    over: u64,
    sum: f64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        let data = HistogramData {
            counts: vec![0; bounds.len()],
            ..HistogramData::default()
        };
        Histogram {
            bounds,
            data: Mutex::new(data),
        }
    }

    pub fn observe(&self, value: f64) {
        let mut data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        match self.bounds.iter().position(|&b| value <= b) {
            Some(i) => data.counts[i] += 1,
            None => data.over += 1,
        }
        data.sum += value;
    }

    /// How many values were observed.
    pub fn count(&self) -> u64 {
        let data = self.data.lock().unwrap_or_else(|e| e.into_inner());
        data.counts.iter().sum::<u64>() + data.over
    }
}

/// A sum of durations, kept in nanoseconds.
#[derive(Debug, Default)]
pub struct Seconds(AtomicU64);

impl Seconds {
    pub fn add(&self, d: Duration) {
        self.0.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }
    pub fn get(&self) -> f64 {
        self.0.load(Ordering::Relaxed) as f64 / 1e9
    }
}

/// HTTP requests answered, by route (the router's pattern, so that unknown
/// paths do not each make a new series) and status.
#[derive(Debug, Default)]
pub struct RequestCounts(Mutex<BTreeMap<(String, u16), u64>>);

impl RequestCounts {
    pub fn add(&self, route: &str, status: u16) {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry((route.to_string(), status)).or_default() += 1;
    }
    fn snapshot(&self) -> Vec<((String, u16), u64)> {
        let counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        counts.iter().map(|(k, &v)| (k.clone(), v)).collect()
    }
}

// ANCHOR: exposition
/// Writes metrics in the Prometheus text format (version 0.0.4).
#[derive(Default)]
pub struct Exposition(String);

impl Exposition {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    pub fn counter(&mut self, name: &str, help: &str, value: f64) {
        self.head(name, "counter", help);
        let _ = writeln!(self.0, "{name} {value}");
    }

    pub fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.head(name, "gauge", help);
        let _ = writeln!(self.0, "{name} {value}");
    }

    /// A counter with one series per route and status.
    pub fn requests(&mut self, name: &str, help: &str, counts: &RequestCounts) {
        self.head(name, "counter", help);
        for ((route, status), n) in counts.snapshot() {
            // label values escape \, " and newlines
            let route = route
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = writeln!(
                self.0,
                "{name}{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
    }

    pub fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        let data = h.data.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.head(name, "histogram", help);
        let mut cumulative = 0;
        for (bound, n) in h.bounds.iter().zip(&data.counts) {
            cumulative += n;
            let _ = writeln!(self.0, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += data.over;
        let _ = writeln!(self.0, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(self.0, "{name}_sum {}", data.sum);
        let _ = writeln!(self.0, "{name}_count {cumulative}");
    }

    pub fn finish(self) -> String {
        self.0
    }
}
// ANCHOR_END: exposition

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_inf_counts_all() {
        let h = Histogram::new(&[1.0, 2.0]);
        for v in [0.5, 1.0, 1.5, 3.0] {
            h.observe(v);
        }
        let mut out = Exposition::default();
        out.histogram("x", "help", &h);
        let text = out.finish();
        assert!(text.contains("x_bucket{le=\"1\"} 2\n"), "{text}");
        assert!(text.contains("x_bucket{le=\"2\"} 3\n"), "{text}");
        assert!(text.contains("x_bucket{le=\"+Inf\"} 4\n"), "{text}");
        assert!(text.contains("x_sum 6\n"), "{text}");
        assert!(text.contains("x_count 4\n"), "{text}");
        assert_eq!(h.count(), 4);
    }
}
