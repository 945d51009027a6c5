//! Server-sent events: the worker's events, mapped by an API module to that
//! API's events, as one `text/event-stream` response. (Ollama's NDJSON
//! stream uses the same mapping, [`converted_stream`], with lines for events.)
//!
//! ```text
//!  worker ──Event──▶ StreamState::next ──convert──▶ SSE events ──▶ client
//!                    (queue of events not yet sent, done flag)
//! ```

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::error::{ApiError, Flavor, Kind};
use crate::wire::to_json;
use crate::worker::Event;

/// What an API module makes of one worker event: the events to send (SSE
/// events, or NDJSON lines for Ollama), and whether the stream is over after them.
pub struct Converted<T = SseEvent> {
    pub events: Vec<T>,
    pub last: bool,
}

impl<T> Converted<T> {
    /// Events to send; more follow.
    pub fn more(events: Vec<T>) -> Self {
        Converted {
            events,
            last: false,
        }
    }
    /// Nothing to send yet.
    pub fn nothing() -> Self {
        Converted::more(Vec::new())
    }
    /// The last events of the stream.
    pub fn last(events: Vec<T>) -> Self {
        Converted { events, last: true }
    }
}

/// One stream's state between two polls.
struct StreamState<F, T> {
    /// Converted events not yet sent.
    pending: VecDeque<T>,
    /// The worker's events for this request.
    events: mpsc::UnboundedReceiver<Event>,
    /// The API module's mapping.
    convert: F,
    /// The mapping said the stream is over: send `pending`, then end.
    finished: bool,
}

impl<F: FnMut(Event) -> Converted<T>, T> StreamState<F, T> {
    /// The next event, `None` when the stream is over.
    async fn next(&mut self) -> Option<T> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.finished {
                return None;
            }
            // `None`: the worker is gone
            let converted = (self.convert)(self.events.recv().await?);
            self.pending.extend(converted.events);
            self.finished = converted.last;
        }
    }
}

/// The worker's events as a stream of an API's events: `first` goes out at
/// once, then `convert` maps each worker event until it says the stream is
/// over. Dropping the stream drops the receiver, which cancels the request.
pub fn converted_stream<F, T>(
    first: Vec<T>,
    events: mpsc::UnboundedReceiver<Event>,
    convert: F,
) -> impl Stream<Item = T>
where
    F: FnMut(Event) -> Converted<T> + Send + 'static,
    T: Send + 'static,
{
    let state = StreamState {
        pending: VecDeque::from(first),
        events,
        convert,
        finished: false,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        let event = state.next().await?;
        Some((event, state))
    })
}

/// Turns the worker's events into server-sent events ([`converted_stream`]).
/// Comments keep an idle connection (a request waiting in the queue) alive,
/// and let us notice a client that left.
pub fn sse_stream<F>(
    first: Vec<SseEvent>,
    events: mpsc::UnboundedReceiver<Event>,
    convert: F,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>>
where
    F: FnMut(Event) -> Converted + Send + 'static,
{
    let stream = converted_stream(first, events, convert).map(Ok);
    Sse::new(stream).keep_alive(KeepAlive::new())
}

/// A JSON SSE event (`data: {...}`), optionally with an `event:` name.
pub fn sse_json(name: Option<&str>, body: &impl Serialize) -> SseEvent {
    let event = match name {
        Some(name) => SseEvent::default().event(name),
        None => SseEvent::default(),
    };
    event.data(to_json(body))
}

/// The `error` event that ends a stream when the worker fails mid-way.
pub fn stream_error(flavor: Flavor, message: String) -> SseEvent {
    let error = ApiError::new(flavor, Kind::Internal, message);
    match flavor {
        Flavor::OpenAi | Flavor::Ollama => sse_json(None, &error.body()),
        Flavor::Anthropic => sse_json(Some("error"), &error.body()),
    }
}
