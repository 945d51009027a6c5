//! Solution of the chapter 23 exercise: retry a busy server politely.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_retries: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
}

pub fn retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504 | 529)
}

pub fn with_retries(
    policy: &Policy,
    mut call: impl FnMut(u32) -> Answer,
    mut sleep: impl FnMut(u64),
) -> Answer {
    let mut attempt = 0;
    loop {
        let answer = call(attempt);
        if !retryable(answer.status) || attempt == policy.max_retries {
            return answer;
        }
        let backoff = 1u64
            .checked_shl(attempt)
            .unwrap_or(u64::MAX)
            .saturating_mul(policy.base_delay_ms);
        let wait = match answer.retry_after {
            Some(seconds) => seconds.saturating_mul(1000),
            None => backoff,
        };
        sleep(wait.min(policy.max_delay_ms));
        attempt += 1;
    }
}
