//! llama.cpp's flags on `generate` (and `chat`): each one's effect, checked
//! against llama.cpp's greedy continuation (tests/golden/generate/
//! greedy_f32.json, scripts/golden_generate.py) where there is one, else
//! against another run of ours that must agree or differ.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;
use common::{err_stderr, golden, locallm, ok_stdout};

const PROMPT: &str = "The capital of France is";

/// llama.cpp's greedy pieces after PROMPT.
fn reference_pieces() -> Vec<String> {
    let g = golden("generate/greedy_f32.json");
    let case = &g["cases"][0];
    assert_eq!(case["prompt"], PROMPT);
    case["pieces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

/// `generate --raw -p PROMPT ARGS`: (stdout without its final newline, stderr).
fn raw(args: &[&str]) -> (String, String) {
    let mut all = vec!["generate", "--raw", "-p", PROMPT];
    all.extend(args);
    let out = locallm(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let text = ok_stdout(out);
    (text.strip_suffix('\n').unwrap().to_string(), stderr)
}

#[test]
fn n_predict_gives_exactly_n_tokens_and_long_names_still_work() {
    let pieces = reference_pieces();
    let (text, stderr) = raw(&["-n", "3", "--temp", "0"]);
    assert_eq!(text, pieces[..3].concat());
    assert!(stderr.contains("generation: 3 tokens"), "{stderr}");
    // the project's older long names are aliases of the same flags
    let (long, _) = raw(&["--max-tokens", "3", "--temperature", "0"]);
    let (llama, _) = raw(&["--n-predict", "3", "--temp", "0"]);
    assert_eq!(
        (long.as_str(), llama.as_str()),
        (text.as_str(), text.as_str())
    );
}

#[test]
fn stop_ends_the_answer_before_the_text() {
    let pieces = reference_pieces();
    let full = pieces.concat();
    let (text, stderr) = raw(&["-n", "16", "--temp", "0", "--stop", "\n\nThe"]);
    // llama.cpp's text up to the stop string, which is not printed
    assert_eq!(text, full[..full.find("\n\nThe").unwrap()]);
    assert!(stderr.contains("StopText"), "{stderr}");
    // repeatable: the earliest wins
    let (text, _) = raw(&["-n", "16", "--temp", "0", "--stop", "answer", "--stop", "."]);
    assert_eq!(text, " Paris");
}

#[test]
fn truncating_samplers_at_their_limit_are_greedy_and_seed_reproduces() {
    let (greedy, _) = raw(&["-n", "12", "--temp", "0"]);
    let sampled = |extra: &[&str]| {
        let mut args = vec!["-n", "12", "--temp", "1.5"];
        args.extend(extra);
        raw(&args).0
    };
    // with one candidate left, any temperature and seed gives the greedy text
    assert_eq!(sampled(&["--top-k", "1", "-s", "7"]), greedy);
    assert_eq!(sampled(&["--min-p", "1", "-s", "8"]), greedy);
    assert_eq!(sampled(&["--top-p", "0.01", "-s", "9"]), greedy);
    // a seed reproduces a sampled run; another seed (almost surely) does not
    let a = sampled(&["-s", "42", "--top-k", "0", "--top-p", "1"]);
    assert_eq!(
        sampled(&["--seed", "42", "--top-k", "0", "--top-p", "1"]),
        a
    );
    assert_ne!(sampled(&["-s", "43", "--top-k", "0", "--top-p", "1"]), a);
    // a strong repeat penalty changes the greedy text (it repeats digits)
    let (penalized, _) = raw(&["-n", "24", "--temp", "0", "--repeat-penalty", "3"]);
    let (plain, _) = raw(&["-n", "24", "--temp", "0"]);
    assert_ne!(penalized, plain);
}

#[test]
fn ctx_size_threads_and_prompt_from_stdin_or_a_file() {
    let (text, stderr) = raw(&["-n", "4", "--temp", "0", "-c", "64", "-t", "2"]);
    assert!(stderr.contains("for 64 positions"), "{stderr}");
    assert_eq!(text, reference_pieces()[..4].concat());
    // -f - reads the prompt from stdin, -f FILE from a file: the same answer
    let from_stdin = ok_stdout(common::locallm_with_stdin(
        &["generate", "--raw", "-f", "-", "-n", "4", "--temp", "0"],
        PROMPT,
    ));
    assert_eq!(from_stdin, format!("{text}\n"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prompt.txt");
    std::fs::write(&file, PROMPT).unwrap();
    let out = locallm(&[
        "generate",
        "--raw",
        "-f",
        file.to_str().unwrap(),
        "-n",
        "4",
        "--temp",
        "0",
    ]);
    assert_eq!(ok_stdout(out), format!("{text}\n"));
    // no prompt, both, a missing file, zero threads: one clear error each
    let fails = |args: &[&str], needle: &str| {
        let stderr = err_stderr(locallm(args));
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    fails(&["generate", "-n", "1"], "--prompt");
    fails(&["generate", "-p", "x", "-f", "-"], "cannot be used with");
    fails(
        &["generate", "-f", "/no/such/prompt.txt"],
        "/no/such/prompt.txt",
    );
    fails(
        &["generate", "-p", "x", "-t", "0"],
        "--threads must be at least 1",
    );
    fails(
        &["generate", "-p", "x", "--grammar-file", "/no/such/g.gbnf"],
        "/no/such/g.gbnf",
    );
    fails(
        &["generate", "-p", "x", "--grammar", "root ::= \"a\" item"],
        "rule 'item' is used but never defined",
    );
    fails(
        &[
            "generate",
            "-p",
            "x",
            "--grammar",
            "root ::= \"a\"",
            "-j",
            "{}",
        ],
        "cannot be used with",
    );
}

#[test]
fn json_schema_output_validates() {
    let schema = r#"{"type": "object",
        "properties": {"city": {"type": "string", "enum": ["Paris", "Lyon"]},
                       "population": {"type": "integer"}},
        "required": ["city", "population"], "additionalProperties": false}"#;
    let check = |out: Output| {
        let text = ok_stdout(out);
        let v: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
        let obj = v.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["city", "population"], "{text}");
        assert!(["Paris", "Lyon"].contains(&obj["city"].as_str().unwrap()));
        // an integer (JSON Schema sets no size, so read the digits as written)
        let number: String = text
            .split("\"population\":")
            .nth(1)
            .unwrap()
            .trim_start()
            .chars()
            .take_while(|c| !matches!(c, ',' | '}') && !c.is_whitespace())
            .collect();
        let digits = number.strip_prefix('-').unwrap_or(&number);
        assert!(
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()),
            "{text}"
        );
    };
    let prompt = "Give the capital of France and its population as JSON.";
    check(locallm(&[
        "generate",
        "-p",
        prompt,
        "-n",
        "96",
        "--temp",
        "0",
        "--json-schema",
        schema,
    ]));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schema.json");
    std::fs::write(&file, schema).unwrap();
    check(locallm(&[
        "generate",
        "-p",
        prompt,
        "-n",
        "96",
        "--temp",
        "0.8",
        "-s",
        "3",
        "--json-schema-file",
        file.to_str().unwrap(),
    ]));
    let stderr = err_stderr(locallm(&["generate", "-p", "x", "-j", "{not json"]));
    assert!(
        stderr.contains("--json-schema is not valid JSON"),
        "{stderr}"
    );
}

#[test]
fn completions_are_valid_scripts_naming_the_flags() {
    let out = locallm(&["completions", "bash"]);
    let script = ok_stdout(out);
    for word in [
        "generate",
        "chat",
        "--n-predict",
        "--json-schema",
        "--ctx-size",
    ] {
        assert!(script.contains(word), "{word} missing");
    }
    let mut bash = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    bash.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(bash.wait().unwrap().success(), "bash -n rejects the script");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let s = ok_stdout(locallm(&["completions", shell]));
        assert!(s.contains("n-predict"), "{shell}");
    }
    let stderr = err_stderr(locallm(&["completions", "tcsh"]));
    assert!(stderr.contains("bash"), "{stderr}");
}

/// Every `LOCALLM_*` variable the code reads is in `--help`, and every
/// variable `--help` lists is in the book's chapter 0.1.
#[test]
fn every_environment_variable_is_in_help_and_in_the_book() {
    let help = ok_stdout(locallm(&["--help"]));
    let listed: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Environment:"))
        .skip(1)
        .filter_map(|l| {
            let word = l.split_whitespace().next()?;
            let upper = |c: char| c.is_ascii_uppercase() || c == '_';
            (l.starts_with("  ") && !l.starts_with("   ") && word.chars().all(upper))
                .then(|| word.to_string())
        })
        .collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // what the code reads: `"LOCALLM_..."` string literals under crates/*/src
    let mut read = std::collections::BTreeSet::new();
    let mut stack = vec![root.join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name() != Some("tests".as_ref()) {
                    stack.push(path);
                }
            } else if path.extension() == Some("rs".as_ref()) {
                let text = std::fs::read_to_string(&path).unwrap();
                for part in text.split("\"LOCALLM_").skip(1) {
                    let name: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    if part[name.len()..].starts_with('"') {
                        read.insert(format!("LOCALLM_{name}"));
                    }
                }
            }
        }
    }
    assert!(read.len() >= 4, "{read:?}");
    for var in &read {
        assert!(
            listed.contains(var),
            "{var} is read but not in --help:\n{help}"
        );
    }
    let book = std::fs::read_to_string(root.join("book/src/ch00-1-install.md")).unwrap();
    for var in &listed {
        assert!(
            book.contains(&format!("`{var}`")),
            "{var} is not in chapter 0.1"
        );
    }
}
