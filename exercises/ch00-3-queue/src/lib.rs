//! Chapter 0.3 exercise: one model, one queue.
//!
//! `locallm serve` answers one request at a time: the model lives on one
//! thread, and requests wait for it in a queue, first come, first served.
//! `--parallel N` bounds how many requests are *in the server* at once: the
//! one being answered and the ones waiting. A request that arrives when N
//! are in already is not queued: it gets `503` at once, and the client may
//! try again later.
//!
//! Given when each request arrives and how long its answer takes once the
//! model works on it, say what happens to each. The rules:
//!
//! - requests come in the order of the slice (their arrival times never
//!   decrease);
//! - a request that finishes at time t has left the server at t: one that
//!   arrives at t does not count it;
//! - an admitted request starts when it has arrived and every request
//!   admitted before it has finished; the model is never idle while a
//!   request waits;
//! - `parallel` is at least 1.
//!
//! Check your work with `./check.sh ch00-3-queue` (from `exercises/`).

/// One request: when it arrives, and how long the model works on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub arrives_ms: u64,
    pub work_ms: u64,
}

/// What happened to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Admitted: the model worked on it from `starts_ms` to `ends_ms`.
    Served { starts_ms: u64, ends_ms: u64 },
    /// Turned away with `503`: `parallel` requests were in the server.
    Busy,
}

/// The outcome of each request, in the same order.
pub fn serve(requests: &[Request], parallel: usize) -> Vec<Outcome> {
    // TODO: follow the rules above, one request after the other.
    let _ = (requests, parallel);
    todo!("who is served when, and who gets 503")
}
