//! `cargo test -p NAME` must compile the same dependency artifacts as
//! `cargo test --workspace`, or every chapter's test command compiles burn
//! again. `crates/workspace-hack` pins the features; this test fails when a
//! new dependency or feature makes some selection resolve differently.

use std::path::Path;
use std::process::Command;

#[test]
fn every_package_alone_resolves_the_workspace_features() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("python3")
        .arg(root.join("scripts/workspace_hack.py"))
        .arg("--check")
        .current_dir(&root)
        .output()
        .expect("python3 runs scripts/workspace_hack.py");
    assert!(
        out.status.success(),
        "{}\nrun `python3 scripts/workspace_hack.py` and commit crates/workspace-hack/Cargo.toml",
        String::from_utf8_lossy(&out.stderr)
    );
}
