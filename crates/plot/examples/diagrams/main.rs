//! Writes the book's diagrams into `book/src/figures/diagrams/` (or the
//! directory given as the one argument):
//!
//! ```console
//! $ cargo run -p locallm-plot --example diagrams
//! ```
//!
//! Each figure is drawn from the shapes in the code and in the golden files
//! (see `figures.rs`); `tests/diagrams.rs` fails when a committed figure
//! differs from what this writes now.

mod facts;
mod figures;
mod layouts;
mod pipelines;

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let repo = facts::repo_root();
    let out = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => repo.join(facts::OUT_DIR),
    };
    std::fs::create_dir_all(&out)?;
    for figure in figures::all(&repo) {
        let path = out.join(figure.file);
        std::fs::write(&path, &figure.svg)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
