//! Chapter 22 exercise: read a server-sent event stream.
//!
//! A streamed answer arrives as `text/event-stream`: lines, and a blank line
//! ends each event. The rules (from the HTML standard's "event stream"
//! section, simplified to what LLM servers send):
//!
//! - a line `data: X` (or `data:X`) adds `X` to the event's data; several
//!   `data` lines are joined with `\n`;
//! - `event: NAME` names the event (Anthropic's `message_start`, ...);
//! - a line starting with `:` is a comment (servers send them to keep an idle
//!   connection open): ignore it; ignore other fields (`id:`, `retry:`) too;
//! - lines end with `\n` or `\r\n`;
//! - a blank line dispatches the event, if it has data (an event with no
//!   `data` line is dropped);
//! - the text after the last blank line is an event still arriving: it is
//!   not returned, but kept for the next call.
//!
//! Check your work with `./check.sh ch22-sse-parse` (from `exercises/`).

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: Option<String>,
    pub data: String,
}

/// Reads a stream that arrives in pieces of any size.
#[derive(Debug, Default)]
pub struct SseReader {
    buffer: String,
}

impl SseReader {
    pub fn new() -> Self {
        SseReader::default()
    }

    /// Adds the next piece of the stream; returns the events it completed.
    pub fn push(&mut self, piece: &str) -> Vec<Event> {
        // TODO: append `piece` to the buffer.
        // TODO: while the buffer holds a complete line, take it off (drop the
        //       "\n" and a "\r" before it) and apply the rules above to the
        //       event being built; a blank line ends it.
        // TODO: keep the partial line and the event being built for later
        //       (add fields to the struct as you need them).
        let _ = (&mut self.buffer, piece);
        todo!("events completed by this piece")
    }
}
