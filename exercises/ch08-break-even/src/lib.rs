//! Chapter 8 exercise: when does running locally pay for itself?
//!
//! One workload is `input` tokens read and `output` tokens written.
//!
//! - On an API it costs `input × price_in / 10⁶ + output × price_out / 10⁶`
//!   (prices per million tokens).
//! - Locally it takes `input / pp + output / tg` seconds, where `pp` and
//!   `tg` are the prompt and generation speeds `locallm bench` measures
//!   (tokens per second), and costs the electricity:
//!   `seconds / 3600 × watts / 1000 × price_per_kwh`.
//! - A machine bought for `machine_price` pays for itself after
//!   `ceil(machine_price / (api − local))` workloads, if the API costs more
//!   per workload than the electricity; never otherwise.
//!
//! Check your work with `./check.sh ch08-break-even` (from `exercises/`).

/// What one workload costs on an API.
pub fn api_cost(input: u64, output: u64, price_in: f64, price_out: f64) -> f64 {
    // TODO
    let _ = (input, output, price_in, price_out);
    todo!("the API's price")
}

/// Seconds one workload takes locally at `pp` and `tg` tokens per second.
pub fn local_seconds(input: u64, output: u64, pp: f64, tg: f64) -> f64 {
    // TODO
    let _ = (input, output, pp, tg);
    todo!("the local time")
}

/// The electricity of `seconds` at `watts`, at `price_per_kwh`.
pub fn energy_cost(seconds: f64, watts: f64, price_per_kwh: f64) -> f64 {
    // TODO
    let _ = (seconds, watts, price_per_kwh);
    todo!("the electricity")
}

/// Workloads after which the machine has paid for itself, or `None` when
/// the API is not more expensive per workload than the local electricity.
pub fn break_even(machine_price: f64, api: f64, local: f64) -> Option<u64> {
    // TODO
    let _ = (machine_price, api, local);
    todo!("the break-even")
}
