//! The book's side-by-side of the two tokenizers (chapter 16,
//! book/src/figures/two-tokenizers.txt) is what `examples/two_tokenizers.rs`
//! prints today: a figure typed by hand, or left behind by a change to either
//! tokenizer, fails here. (Both tokenizers are checked against llama.cpp in
//! llamacpp_golden.rs and families_golden.rs; this test only keeps the
//! figure honest.)

#[path = "../examples/two_tokenizers.rs"]
mod two_tokenizers;

#[test]
fn committed_figure_is_what_the_example_prints() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../book/src/figures/two-tokenizers.txt"
    );
    let committed = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let fresh = two_tokenizers::render().unwrap();
    assert!(
        committed == fresh,
        "{path} is stale; regenerate it with\n  cargo run -p locallm-tokenizer --example \
         two_tokenizers > book/src/figures/two-tokenizers.txt\n--- committed\n{committed}\n--- now\n{fresh}"
    );
}
