//! The commands the README and the book show, run against this binary: a
//! command in the documentation that no longer runs, or a transcript that no
//! longer matches what the command prints, fails here.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Runs `script` with bash in the repository root, with this build's
/// `locallm` first on the PATH and `cargo run --release -- ARGS` standing for
/// `locallm ARGS` (a debug build: the README's commands, not its speed, are
/// under test). Returns (success, stdout, stderr).
fn bash(script: &str) -> (bool, String, String) {
    common::locallm(&["--help"]); // fetches the default model once if missing
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_locallm"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let prelude = "set -euo pipefail\n\
        cargo() {\n\
          if [ \"$1 $2 $3\" = 'run --release --' ]; then shift 3; locallm \"$@\";\n\
          else echo \"not a README command: cargo $*\" >&2; return 99; fi\n\
        }\n";
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .current_dir(repo_root())
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The code blocks of a Markdown text whose info string is `lang`, as lists
/// of lines.
fn code_blocks<'a>(text: &'a str, lang: &str) -> Vec<Vec<&'a str>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        let fence = line.trim_start().starts_with("```");
        match (&mut current, fence) {
            (None, true) => {
                if line.trim_start().trim_start_matches('`') == lang {
                    current = Some(Vec::new());
                }
            }
            (Some(_), true) => blocks.push(current.take().unwrap()),
            (Some(lines), false) => lines.push(line),
            (None, false) => {}
        }
    }
    blocks
}

/// `line` without a trailing `# comment` (a `#` outside quotes, after a space).
fn without_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return line[..i].trim_end(),
            _ => {}
        }
        prev = c;
    }
    line.trim_end()
}

/// README subcommands too long for a test (minutes of work in a debug build)
/// or that run until stopped: they are run with `--help` appended, which
/// still fails on a subcommand or a flag that does not exist.
const FLAGS_ONLY: [(&str, &str); 7] = [
    ("serve", "runs until stopped"),
    (
        "perplexity",
        "scores 7,639 tokens, twice with --kl-divergence-base",
    ),
    ("quant-sweep", "quantizes and scores 15 mixes"),
    (
        "prune",
        "calibrates Wanda on 4,096 tokens and writes a model",
    ),
    ("finetune", "trains, on a file of the reader's"),
    ("lora", "merges the adapter finetune would have written"),
    ("bench", "repeats a 512-token prefill and 128 decode steps"),
];

#[test]
fn every_readme_command_runs() {
    let readme = read("README.md");
    let mut script = String::new();
    let mut ran = Vec::new();
    for block in code_blocks(&readme, "sh") {
        for line in block {
            let command = without_comment(line);
            if command.is_empty() {
                continue;
            }
            if command == "bash scripts/test.sh" {
                continue; // the command that runs this very test
            }
            let sub = command
                .strip_prefix("cargo run --release -- ")
                .and_then(|rest| rest.split_whitespace().next());
            match sub {
                // chat reads stdin, which is empty: it starts, greets and ends
                Some("chat") => script.push_str(command),
                Some(s) if FLAGS_ONLY.iter().any(|(name, _)| *name == s) => {
                    script.push_str(&format!("{command} --help >/dev/null"))
                }
                _ => script.push_str(command),
            }
            script.push('\n');
            ran.push(command.to_string());
        }
    }
    assert!(ran.len() >= 15, "only {} README commands found", ran.len());
    let (ok, stdout, stderr) = bash(&script);
    assert!(
        ok,
        "a README command failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // the quick ones really did their work
    assert!(stdout.contains("Paris"), "{stdout}");
    assert!(stdout.contains("total"), "fits printed no total:\n{stdout}");
    assert!(Path::new("/tmp/smol-q4_k_m.gguf").exists());
}

/// One `$ command` of a console block and the lines shown under it.
struct Transcript {
    file: String,
    command: String,
    shown: Vec<String>,
}

/// The transcripts of `locallm fits` and `locallm cost` in the book: both
/// are arithmetic on the model's shape, so their output must be exactly what
/// the book shows.
fn deterministic_transcripts() -> Vec<Transcript> {
    let mut found = Vec::new();
    let dir = repo_root().join("book/src");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for block in code_blocks(&text, "console") {
            let mut lines = block.into_iter().peekable();
            while let Some(line) = lines.next() {
                let Some(first) = line.strip_prefix("$ ") else {
                    continue;
                };
                let mut command = first.to_string();
                while command.ends_with('\\') {
                    command.pop();
                    command.push_str(lines.next().unwrap_or("").trim_start());
                }
                let mut shown = Vec::new();
                while let Some(next) = lines.peek().filter(|l| !l.starts_with("$ ")) {
                    shown.push(next.to_string());
                    lines.next();
                }
                let ours = ["locallm fits", "locallm cost"]
                    .iter()
                    .any(|c| command.starts_with(c) || command.contains(&format!("do {c}")));
                if ours {
                    found.push(Transcript {
                        file: path.file_name().unwrap().to_string_lossy().into_owned(),
                        command,
                        shown,
                    });
                }
            }
        }
    }
    found
}

/// Whether `shown` is what `printed` says, where a `...` line stands for any
/// run of printed lines (an elision) and the shown lines end where the
/// printed ones end.
fn matches_with_elisions(shown: &[String], printed: &[&str]) -> bool {
    match shown.split_first() {
        None => printed.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=printed.len()).any(|skip| matches_with_elisions(rest, &printed[skip..]))
        }
        Some((first, rest)) => {
            printed.first() == Some(&first.as_str()) && matches_with_elisions(rest, &printed[1..])
        }
    }
}

#[test]
fn the_books_fits_and_cost_transcripts_are_what_the_binary_prints() {
    let transcripts = deterministic_transcripts();
    assert!(transcripts.len() >= 10, "only {} found", transcripts.len());
    let mut wrong = Vec::new();
    for t in &transcripts {
        let (ok, stdout, stderr) = bash(&t.command);
        let printed: Vec<&str> = stdout.lines().collect();
        if !ok || !matches_with_elisions(&t.shown, &printed) {
            wrong.push(format!(
                "{}: $ {}\n--- the book shows\n{}\n--- it prints\n{stdout}{stderr}",
                t.file,
                t.command,
                t.shown.join("\n")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn the_checkers_helpers_do_what_they_say() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(matches_with_elisions(
        &s(&["a", "...", "d"]),
        &["a", "b", "c", "d"]
    ));
    assert!(matches_with_elisions(&s(&["a", "..."]), &["a", "b"]));
    assert!(!matches_with_elisions(&s(&["a"]), &["a", "b"]));
    assert!(!matches_with_elisions(&s(&["a", "...", "x"]), &["a", "b"]));
    assert_eq!(without_comment("x --a 'b # c'   # note"), "x --a 'b # c'");
    assert_eq!(without_comment("MODEL=\"$(x)\""), "MODEL=\"$(x)\"");
    let blocks = code_blocks("```sh\na\n```\n```text\nb\n```\n```sh\nc\n```\n", "sh");
    assert_eq!(blocks, vec![vec!["a"], vec!["c"]]);
}
