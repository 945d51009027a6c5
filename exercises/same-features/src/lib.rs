//! Empty: this crate exists only for its `[dependencies]` (see Cargo.toml).
