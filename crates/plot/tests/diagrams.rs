//! The committed diagrams are what the generator draws now: a figure whose
//! shapes changed in the code (or in the golden files) fails here until
//! `just diagrams` (`cargo run -p locallm-plot --example diagrams`) redraws
//! it. The generator's own checks (names still in the source files, block
//! sizes and offsets that agree with locallm-quant) run here too.

#[path = "../examples/diagrams/facts.rs"]
mod facts;
#[path = "../examples/diagrams/figures.rs"]
mod figures;
#[path = "../examples/diagrams/layouts.rs"]
mod layouts;
#[path = "../examples/diagrams/pipelines.rs"]
mod pipelines;

use std::collections::BTreeSet;

#[test]
fn committed_diagrams_are_up_to_date() {
    let repo = facts::repo_root();
    let dir = repo.join(facts::OUT_DIR);
    let drawn = figures::all(&repo);
    assert!(drawn.len() >= 8, "the book promises at least 8 diagrams");
    let mut stale = Vec::new();
    for figure in &drawn {
        let path = dir.join(figure.file);
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == figure.svg => {}
            Ok(_) => stale.push(format!("{} differs", figure.file)),
            Err(e) => stale.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nredraw them with `just diagrams` and commit the result",
        stale.join("\n")
    );

    // and nothing in the directory that the generator no longer draws
    let names: BTreeSet<String> = drawn.iter().map(|f| f.file.to_string()).collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("the diagrams directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        on_disk,
        names,
        "files in {} that no generator writes",
        dir.display()
    );
}

#[test]
fn every_diagram_is_in_the_book() {
    let repo = facts::repo_root();
    let mut book = String::new();
    for entry in std::fs::read_dir(repo.join("book/src")).expect("book/src") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            book.push_str(&std::fs::read_to_string(&path).expect("a chapter"));
        }
    }
    for figure in figures::all(&repo) {
        let link = format!("(figures/diagrams/{})", figure.file);
        assert!(book.contains(&link), "no chapter shows {}", figure.file);
    }
}
