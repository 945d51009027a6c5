//! What a workload of tokens costs through a priced API.
//!
//! APIs bill per million tokens, with output tokens priced several times
//! higher than input tokens: each output token is one full forward pass,
//! while the input is read in parallel batches. With *prompt caching*, input
//! that repeats a prefix the provider has already processed (a long system
//! prompt, a document asked about again) is billed at a lower cached price.

use crate::SizingError;

/// Prices in currency units per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenPrices {
    pub input: f64,
    pub output: f64,
    /// The price of input tokens read from the prompt cache.
    pub cached_input: f64,
}

/// How many tokens go in and out, and which share of the input is a cache hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Between 0 and 1.
    pub cached_share: f64,
}

/// The bill, split the way providers print it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenCost {
    pub uncached_input: f64,
    pub cached_input: f64,
    pub output: f64,
}

impl TokenCost {
    pub fn total(&self) -> f64 {
        self.uncached_input + self.cached_input + self.output
    }
}

fn check(what: &'static str, value: f64, range: &'static str, ok: bool) -> Result<(), SizingError> {
    if ok && value.is_finite() {
        Ok(())
    } else {
        Err(SizingError::OutOfRange { what, range, value })
    }
}

// ANCHOR: cost
impl Workload {
    /// `tokens × price / 10⁶` for each of the three kinds of token.
    pub fn cost(&self, prices: &TokenPrices) -> Result<TokenCost, SizingError> {
        let share = self.cached_share;
        check(
            "the cached share",
            share,
            "between 0 and 1",
            (0.0..=1.0).contains(&share),
        )?;
        for (what, p) in [
            ("the input price", prices.input),
            ("the output price", prices.output),
            ("the cached input price", prices.cached_input),
        ] {
            check(what, p, "zero or more", p >= 0.0)?;
        }
        let per_million = |tokens: f64, price: f64| tokens * price / 1e6;
        let input = self.input_tokens as f64;
        Ok(TokenCost {
            uncached_input: per_million(input * (1.0 - share), prices.input),
            cached_input: per_million(input * share, prices.cached_input),
            output: per_million(self.output_tokens as f64, prices.output),
        })
    }
}
// ANCHOR_END: cost

#[cfg(test)]
mod tests {
    use super::*;

    const PRICES: TokenPrices = TokenPrices {
        input: 3.0,
        output: 15.0,
        cached_input: 0.3,
    };

    #[test]
    fn a_workload_costs_tokens_times_prices() {
        let w = Workload {
            input_tokens: 2_000_000,
            output_tokens: 500_000,
            cached_share: 0.0,
        };
        let c = w.cost(&PRICES).unwrap();
        assert_eq!(
            (c.uncached_input, c.cached_input, c.output),
            (6.0, 0.0, 7.5)
        );
        assert_eq!(c.total(), 13.5);
    }

    #[test]
    fn cached_input_is_billed_at_the_cached_price() {
        let w = Workload {
            input_tokens: 1_000_000,
            output_tokens: 0,
            cached_share: 0.75,
        };
        let c = w.cost(&PRICES).unwrap();
        assert_eq!(c.uncached_input, 0.75); // 250k × 3 / 10⁶
        assert!((c.cached_input - 0.225).abs() < 1e-12); // 750k × 0.3 / 10⁶
    }

    #[test]
    fn bad_shares_and_prices_are_errors() {
        let w = |cached_share| Workload {
            input_tokens: 1,
            output_tokens: 1,
            cached_share,
        };
        let err = w(1.5).cost(&PRICES).unwrap_err();
        assert!(err.to_string().contains("between 0 and 1"), "{err}");
        assert!(w(f64::NAN).cost(&PRICES).is_err());
        let negative = TokenPrices {
            output: -1.0,
            ..PRICES
        };
        let err = w(0.0).cost(&negative).unwrap_err();
        assert!(err.to_string().contains("output price"), "{err}");
    }
}
