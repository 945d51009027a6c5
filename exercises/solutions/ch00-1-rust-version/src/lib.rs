//! Chapter 0.1 exercise: is this Rust new enough?
//!
//! The workspace states the oldest Rust it builds with in `Cargo.toml`
//! (`rust-version = "1.95"`), and `rustc --version` says which one you have,
//! for example `rustc 1.95.0 (59807616e 2026-04-14)` or, on the nightly
//! channel, `rustc 1.97.0-nightly (0123abcd4 2026-05-30)`.
//!
//! The rules for this exercise:
//!
//! - a version is two or three numbers separated by dots (`1.95`,
//!   `1.95.0`); a missing third number counts as 0; anything else (`1`,
//!   `1.95.0.1`, `1.x`, `v1.95`, an empty string) is not a version;
//! - a channel tag after the numbers (`-nightly`, `-beta.3`) is dropped:
//!   it is not part of the comparison here;
//! - versions compare number by number, from the left. They are *not* text:
//!   as strings, "1.100" sorts before "1.95".
//!
//! Check your work with `./check.sh ch00-1-rust-version` (from
//! `exercises/`). The tests ask your real `rustc` for its version and check
//! it against the workspace's `rust-version` (cargo refused to build this
//! crate if it were older, so your answer must be "new enough").

/// A Rust version: major.minor.patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// Reads `1.95`, `1.95.0` or `1.97.0-nightly`; `None` for anything else.
pub fn parse_version(text: &str) -> Option<Version> {
    let numbers = text.split_once('-').map_or(text, |(numbers, _tag)| numbers);
    let parts: Vec<&str> = numbers.split('.').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    // `u32::from_str` accepts a leading `+`; a version has digits only.
    let number = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    Some(Version {
        major: number(parts[0])?,
        minor: number(parts[1])?,
        patch: match parts.get(2) {
            Some(p) => number(p)?,
            None => 0,
        },
    })
}

/// The version in the output of `rustc --version`; `None` when the text is
/// not from rustc (it must start with the word `rustc`).
pub fn rustc_version(output: &str) -> Option<Version> {
    let mut words = output.split_whitespace();
    if words.next() != Some("rustc") {
        return None;
    }
    parse_version(words.next()?)
}

/// Is `have` at least `need`?
pub fn new_enough(have: Version, need: Version) -> bool {
    // Tuples compare element by element, from the left.
    (have.major, have.minor, have.patch) >= (need.major, need.minor, need.patch)
}
