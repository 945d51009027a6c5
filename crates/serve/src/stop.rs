//! Stop strings: end the answer when the text contains one of them.
//!
//! Stop *tokens* (`<|im_end|>`) are handled by the generation loop. Stop
//! *strings* (`"stop": ["\n\n"]` in a request) are text, and text arrives in
//! pieces that do not line up with them: `"\n\n"` may come as `"\n"` then
//! `"\nThe"`. So we hold back any tail of the output that could still grow
//! into a stop string, and release it once it cannot. The client never sees
//! the stop string itself, as with OpenAI and Anthropic.

/// What [`StopMatcher::push`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    /// Text that is safe to send now (maybe empty).
    Text(String),
    /// A stop string was completed: the text before it, and which one.
    Stopped { text: String, stop: usize },
}

/// Finds stop strings in streamed text.
#[derive(Debug, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    /// Output not yet released: a tail that is a prefix of some stop string.
    held: String,
}

impl StopMatcher {
    /// Empty strings are ignored (they would stop before the first token).
    pub fn new(stops: Vec<String>) -> Self {
        StopMatcher {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            held: String::new(),
        }
    }

    /// The stop string with index `i` (as given to [`StopMatcher::new`], empty ones removed).
    pub fn stop(&self, i: usize) -> &str {
        &self.stops[i]
    }

    // ANCHOR: stop_scan
    /// Add the next piece of decoded text.
    pub fn push(&mut self, piece: &str) -> Scan {
        self.held.push_str(piece);
        // the earliest complete stop string wins
        let first = (self.stops.iter().enumerate())
            .filter_map(|(i, s)| self.held.find(s.as_str()).map(|at| (at, i)))
            .min();
        if let Some((at, stop)) = first {
            self.held.truncate(at);
            return Scan::Stopped {
                text: std::mem::take(&mut self.held),
                stop,
            };
        }
        // keep the longest tail that some stop string starts with
        let keep_from = (self.held.char_indices().map(|(i, _)| i))
            .find(|&i| {
                let tail = &self.held[i..];
                self.stops.iter().any(|s| s.starts_with(tail))
            })
            .unwrap_or(self.held.len());
        let tail = self.held.split_off(keep_from);
        Scan::Text(std::mem::replace(&mut self.held, tail))
    }
    // ANCHOR_END: stop_scan

    /// End of the answer: whatever was held back was not a stop string.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, Option<usize>) {
        let mut m = StopMatcher::new(stops.iter().map(|s| s.to_string()).collect());
        let mut out = String::new();
        for p in pieces {
            match m.push(p) {
                Scan::Text(t) => out.push_str(&t),
                Scan::Stopped { text, stop } => {
                    out.push_str(&text);
                    return (out, Some(stop));
                }
            }
        }
        out.push_str(&m.finish());
        (out, None)
    }

    #[test]
    fn stop_split_across_pieces() {
        assert_eq!(
            run(&["\n\n"], &["Hello", "\n", "\nWorld"]),
            ("Hello".into(), Some(0))
        );
    }

    #[test]
    fn held_text_is_released_when_it_cannot_match() {
        let mut m = StopMatcher::new(vec!["END".into()]);
        assert_eq!(m.push("abc E"), Scan::Text("abc ".into()));
        assert_eq!(m.push("N"), Scan::Text("".into()));
        assert_eq!(m.push("x"), Scan::Text("ENx".into()));
        assert_eq!(m.finish(), "");
    }

    #[test]
    fn no_stop_strings_passes_everything() {
        assert_eq!(run(&[], &["a", "b"]), ("ab".into(), None));
        assert_eq!(run(&[""], &["a", "b"]), ("ab".into(), None));
    }

    #[test]
    fn earliest_stop_wins_and_multibyte_is_safe() {
        assert_eq!(run(&["lo", "él"], &["hél", "lo"]), ("h".into(), Some(1)));
        assert_eq!(run(&["é!"], &["aé", "b"]), ("aéb".into(), None));
    }

    #[test]
    fn unfinished_prefix_at_the_end_is_text() {
        assert_eq!(run(&["STOP"], &["x", "ST"]), ("xST".into(), None));
    }
}
