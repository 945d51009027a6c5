//! The book's reference table (book/src/references.md) is the one
//! scripts/reference_table.py generates from the goldens' `check` blocks,
//! and every golden has such a block.
//!
//! The generator is a standard-library Python script (python3 is needed by
//! the model fetch already); this test runs it in `--check` mode, which
//! rebuilds the table in memory and compares it with the page.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn reference_table_matches_the_goldens() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("python3")
        .arg(root.join("scripts/reference_table.py"))
        .arg("--check")
        .current_dir(&root)
        .output()
        .expect("python3 runs scripts/reference_table.py (install Python 3)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
