//! Chapter 23 exercise: retry a busy server politely.
//!
//! A local server answers one request at a time and turns away what its
//! queue cannot hold: `503` (Anthropic: `529`) with `Retry-After: 1`; hosted
//! APIs say `429` when you go over your rate. Those answers mean "later",
//! not "never", so a client should try again — a bounded number of times,
//! waiting as the server asks, and otherwise backing off exponentially so
//! that many clients do not hammer a busy server in step.
//!
//! The rules:
//! - retry on 429, 500, 502, 503, 504 and 529; return any other answer at once;
//! - at most `max_retries` retries (so `max_retries + 1` calls); after the
//!   last one, return its answer whatever it is;
//! - before retry number `n` (0 for the first retry) wait `Retry-After`
//!   seconds if the answer had that header, otherwise `base_delay_ms · 2ⁿ`;
//!   never wait more than `max_delay_ms`.
//!
//! `call` makes one request (its argument is the attempt number, from 0);
//! `sleep` waits the given milliseconds (the tests record the waits instead
//! of sleeping).
//!
//! Check your work with `./check.sh ch23-retry` (from `exercises/`).

/// What the server answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The `Retry-After` header, in seconds.
    pub retry_after: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_retries: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
}

/// Whether an answer means "try again later".
pub fn retryable(status: u16) -> bool {
    // TODO: the six statuses listed above.
    let _ = status;
    todo!("is this status worth another try?")
}

/// Calls until an answer is not retryable or the retries are used up.
pub fn with_retries(
    policy: &Policy,
    mut call: impl FnMut(u32) -> Answer,
    mut sleep: impl FnMut(u64),
) -> Answer {
    // TODO: try, and retry while it is worth it and retries remain, waiting as
    //       the doc says (mind overflow in the exponential backoff).
    let _ = (policy, &mut call, &mut sleep);
    todo!("the retry loop")
}
