//! Chapter 15 exercise: who answers first, this machine or an API?
//!
//! An answer takes two phases (chapter 18): reading the prompt at the
//! *prefill* speed, then writing the answer one token at a time at the
//! *decode* speed. An API adds the network and its queue before either.
//!
//! ```text
//! time to first token = network + prompt / prefill
//! time to last token  = time to first token + output / decode
//! ```
//!
//! Locally the network is zero, but prefill on a CPU is slow, so a long
//! enough prompt is answered sooner by the API. `longest_local_win` finds
//! where that happens.
//!
//! Check your work with `./check.sh ch15-latency` (from `exercises/`).

/// Where an answer is computed: seconds before any work starts (network and
/// queue; 0 locally) and the two speeds, in tokens per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Engine {
    pub network_s: f64,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
}

/// Seconds until the first token of the answer to a `prompt`-token prompt.
pub fn time_to_first_token(engine: &Engine, prompt: u64) -> f64 {
    // TODO: the network, then the prompt at the prefill speed.
    let _ = (engine, prompt);
    todo!("time to first token")
}

/// Seconds until the last of `output` answer tokens.
pub fn time_to_last_token(engine: &Engine, prompt: u64, output: u64) -> f64 {
    // TODO: the first token's time, then the answer at the decode speed.
    let _ = (engine, prompt, output);
    todo!("time to last token")
}

/// The longest prompt for which `local` finishes an `output`-token answer
/// no later than `api`: `None` if the API is sooner even for an empty
/// prompt, `Some(u64::MAX)` if it is never sooner.
pub fn longest_local_win(local: &Engine, api: &Engine, output: u64) -> Option<u64> {
    // TODO: the difference local − api is a straight line in the prompt
    // length: a constant (network and decode) plus a slope (the prefill
    // speeds). Find where it crosses zero.
    let _ = (local, api, output);
    todo!("the crossover")
}
