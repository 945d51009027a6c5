//! Chapter 13 exercise: what does a workload of tokens cost?
//!
//! An API bills three kinds of token, each at its own price per million:
//! input tokens, input tokens read from the prompt cache (a prefix the
//! provider has already processed), and output tokens. A share `s` of the
//! input (between 0 and 1) is a cache hit:
//!
//! ```text
//! cost = input × (1 − s) × price_in / 10⁶
//!      + input × s × price_cached / 10⁶
//!      + output × price_out / 10⁶
//! ```
//!
//! Check your work with `./check.sh ch13-token-cost` (from `exercises/`).
//! The tests compare your prices with `locallm-sizing`'s (`locallm cost`).

/// Prices per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    pub input: f64,
    pub cached_input: f64,
    pub output: f64,
}

/// Why a workload could not be priced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CostError {
    /// The cached share is not a number between 0 and 1.
    BadShare(f64),
    /// A price is negative or not a number.
    BadPrice(f64),
}

/// The cost of `input` tokens in and `output` tokens out, `cached_share` of
/// the input read from the cache.
pub fn workload_cost(
    input: u64,
    output: u64,
    cached_share: f64,
    prices: &Prices,
) -> Result<f64, CostError> {
    if !(0.0..=1.0).contains(&cached_share) {
        return Err(CostError::BadShare(cached_share));
    }
    for p in [prices.input, prices.cached_input, prices.output] {
        if !(p.is_finite() && p >= 0.0) {
            return Err(CostError::BadPrice(p));
        }
    }
    let input = input as f64;
    let uncached = input * (1.0 - cached_share) * prices.input / 1e6;
    let cached = input * cached_share * prices.cached_input / 1e6;
    Ok(uncached + cached + output as f64 * prices.output / 1e6)
}
