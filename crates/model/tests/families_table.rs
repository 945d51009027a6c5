//! The table of families in chapter 9 (`book/src/figures/families.md`) is
//! what `family::describe` says of the files today: regenerate it with
//! `scripts/book_families.sh` when the code changes.

use std::path::PathBuf;

#[test]
fn the_books_table_of_families_is_current() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![
        locallm_models::default_model().unwrap(),
        locallm_models::ensure(&locallm_models::GEMMA3_270M_Q4_K_M).unwrap(),
    ];
    for arch in ["llama", "qwen2", "qwen3", "gemma3", "phi3"] {
        files.push(root.join(format!("tests/golden/arch/{arch}.gguf")));
    }
    let ours = locallm_model::family::table(&files).unwrap();
    let book = std::fs::read_to_string(root.join("book/src/figures/families.md")).unwrap();
    assert_eq!(book, ours, "stale: run scripts/book_families.sh");
}
