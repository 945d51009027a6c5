//! `generate --grammar-file` against llama.cpp's grammar sampler: greedy
//! generation under our grammars (scripts/gbnf/ and golden_gbnf.py), on
//! the default model (tests/golden/gbnf/generate.json, scripts/golden_gbnf.sh).

mod common;
use common::{golden, locallm, ok_stdout};

#[test]
fn greedy_under_a_grammar_equals_llamacpp() {
    let g = golden("gbnf/generate.json");
    let dir = tempfile::tempdir().unwrap();
    let cases = g["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let name = case["grammar"].as_str().unwrap();
        let file = dir.path().join(format!("{name}.gbnf"));
        std::fs::write(&file, g["grammars"][name].as_str().unwrap()).unwrap();
        let n = case["max_tokens"].to_string();
        // The CLI runs the quantized fast path with f32 activations, which
        // follows llama.cpp run on the F32-dequantized weights: the same
        // greedy tokens, so the same text.
        let out = ok_stdout(locallm(&[
            "generate",
            "--raw",
            "--temp",
            "0",
            "-p",
            case["prompt"].as_str().unwrap(),
            "-n",
            &n,
            "--grammar-file",
            file.to_str().unwrap(),
        ]));
        let ours = out.strip_suffix('\n').unwrap();
        assert_eq!(ours, case["text"].as_str().unwrap(), "{name}");
    }
}

#[test]
fn an_inline_grammar_constrains_the_answer() {
    let out = ok_stdout(locallm(&[
        "generate",
        "--raw",
        "--temp",
        "0.8",
        "-s",
        "7",
        "-p",
        "My favourite colour is",
        "-n",
        "8",
        "--grammar",
        "root ::= \" \" (\"red\" | \"green\" | \"blue\") \".\"",
    ]));
    let ours = out.strip_suffix('\n').unwrap();
    assert!([" red.", " green.", " blue."].contains(&ours), "{ours:?}");
}
