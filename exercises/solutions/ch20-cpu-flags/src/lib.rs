//! Chapter 20 exercise: which vector units does this CPU have?
//!
//! On Linux, `/proc/cpuinfo` has one block per logical CPU, and each block a
//! line such as
//!
//! ```text
//! flags		: fpu vme de pse tsc msr pae mce ... avx2 ... avx512f avx512dq ...
//! ```
//!
//! The key, a tab or several, a colon, then the features as space-separated
//! words. `locallm doctor` asks the CPU itself (`is_x86_feature_detected!`);
//! here you read the kernel's list. Careful: `avx512f` is a feature and
//! `avx512fp16` is another one, so match whole words.
//!
//! Check your work with `./check.sh ch20-cpu-flags` (from `exercises/`). On
//! x86-64 the tests compare your answer on this machine's `/proc/cpuinfo`
//! with the CPU's own.

/// The features `locallm doctor` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VectorFeatures {
    pub avx2: bool,
    pub fma: bool,
    pub f16c: bool,
    pub avx512f: bool,
}

/// The value of the first `flags` line of a cpuinfo text (the words after
/// the colon), or `None` if there is none.
pub fn flags_line(cpuinfo: &str) -> Option<&str> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "flags").then(|| value.trim())
    })
}

/// Which of the four features the space-separated `flags` list names.
pub fn vector_features(flags: &str) -> VectorFeatures {
    let has = |name: &str| flags.split_whitespace().any(|w| w == name);
    VectorFeatures {
        avx2: has("avx2"),
        fma: has("fma"),
        f16c: has("f16c"),
        avx512f: has("avx512f"),
    }
}
