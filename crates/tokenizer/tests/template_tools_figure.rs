//! The book's table of which chat templates carry tools (chapter 25,
//! book/src/figures/template-tools.md) is what `examples/template_tools.rs`
//! prints today from the golden templates: a table typed by hand, or left
//! behind by a change to the renderer or the goldens, fails here.

#[path = "../examples/template_tools.rs"]
mod template_tools;

#[test]
fn committed_figure_is_what_the_example_prints() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../book/src/figures/template-tools.md"
    );
    let committed = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let fresh = template_tools::render().unwrap();
    assert!(
        committed == fresh,
        "{path} is stale; regenerate it with\n  cargo run -p locallm-tokenizer --example \
         template_tools > book/src/figures/template-tools.md\n--- committed\n{committed}\n--- now\n{fresh}"
    );
}
