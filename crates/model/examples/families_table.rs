//! The table of families in chapter 9, from the files themselves:
//!
//! ```console
//! $ cargo run -p locallm-model --example families_table -- FILE.gguf... \
//!     > book/src/figures/families.md
//! ```
//!
//! One row per file, as `locallm_model::family::describe` reads it
//! (`tests/families_table.rs` checks that the committed table is current).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: Vec<String> = std::env::args().skip(1).collect();
    print!("{}", locallm_model::family::table(&files)?);
    Ok(())
}
