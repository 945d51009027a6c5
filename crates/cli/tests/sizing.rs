//! `locallm fits` and `locallm cost` end to end on the default model.

use std::path::PathBuf;

use locallm_quant::GgufFile;
use serde_json::Value;

mod common;
use common::{err_stderr, locallm, ok_stdout};

/// The line of `out` that starts with `label`.
fn line<'a>(out: &'a str, label: &str) -> &'a str {
    let found = out.lines().find(|l| l.starts_with(label));
    found.unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"))
}

#[test]
fn fits_the_default_model() {
    let out = ok_stdout(locallm(&["fits", "--ctx", "8192", "--memory", "1GB"]));
    // the weights are the file's tensors as stored
    let gguf = GgufFile::open(locallm_models::default_model().unwrap()).unwrap();
    let weights = locallm_sizing::format_bytes(gguf.tensor_bytes());
    assert!(line(&out, "weights").contains(&weights), "{out}");
    // f16 cache: 30 layers × 3 KV heads × (128 + 128) bytes × 8,192 = 180 MiB
    assert!(line(&out, "KV cache").contains("180.00 MiB"), "{out}");
    assert!(line(&out, "on 1.00 GiB").contains("fits"), "{out}");
    // a 135M model fits every machine of the table at its full trained context
    let rows = out
        .lines()
        .filter(|l| l.contains(" spare ") && l.ends_with(" 8192"));
    let rows: Vec<_> = rows.collect();
    assert_eq!(rows.len(), 13, "{out}");

    let q8 = ok_stdout(locallm(&["fits", "--ctx", "512", "--cache-type", "q8_0"]));
    // Q8_0 rows of 64: 2 blocks of 34 bytes; 30 × 3 × 2 × 68 = 12,240 B per token
    assert!(line(&q8, "KV cache").contains("11.95 KiB"), "{q8}");
}

#[test]
fn fits_a_model_given_by_shape() {
    let args = "fits --params 8B --layers 32 --heads 32 --kv-heads 8 --head-dim 128 \
                --vocab 128256 --quant Q4_K_M --ctx 8192 --memory 4GB";
    let out = ok_stdout(locallm(&args.split(' ').collect::<Vec<_>>()));
    // 8 × 10⁹ × 4.5 bits = 4.5 × 10⁹ bytes; f16 cache 32 × 8 × 512 B × 8,192 = 1 GiB
    assert!(line(&out, "weights").contains("4.19 GiB"), "{out}");
    assert!(line(&out, "KV cache").contains("1.00 GiB"), "{out}");
    assert!(line(&out, "on 4.00 GiB").contains("does not fit"), "{out}");
}

#[test]
fn fits_rejects_bad_input() {
    let err = err_stderr(locallm(&["fits", "--memory", "8X"]));
    assert!(err.contains("cannot read memory size \"8X\""), "{err}");
    let err = err_stderr(locallm(&["fits", "--ctx", "0"]));
    assert!(
        err.contains("context length must be greater than zero"),
        "{err}"
    );
    let err = err_stderr(locallm(&["fits", "--cache-type", "q9"]));
    assert!(err.contains("unknown KV cache type"), "{err}");
    let err = err_stderr(locallm(&["fits", "--quant", "Q4_X"]));
    assert!(err.contains("unknown quantization type"), "{err}");
}

#[test]
fn cost_prices_a_workload() {
    let args = "cost --input-tokens 2000000 --output-tokens 500000 --price-in 3 --price-out 15";
    let out = ok_stdout(locallm(&args.split(' ').collect::<Vec<_>>()));
    assert!(line(&out, "total").ends_with("13.5000"), "{out}");
    // three quarters of the input from the cache at a tenth of the price
    let cached = format!("{args} --cached-share 0.75 --price-cached 0.3");
    let out = ok_stdout(locallm(&cached.split(' ').collect::<Vec<_>>()));
    // 0.5M × 3 + 1.5M × 0.3 + 0.5M × 15, per million
    assert!(line(&out, "total").ends_with("9.4500"), "{out}");
    let bad = format!("{args} --cached-share 2 --price-cached 1");
    let err = err_stderr(locallm(&bad.split(' ').collect::<Vec<_>>()));
    assert!(err.contains("between 0 and 1"), "{err}");
    let err = err_stderr(locallm(&["cost", "--price-in", "1"]));
    assert!(err.contains("give --input-tokens"), "{err}");
}

#[test]
fn cost_counts_tokens_like_llama_tokenize() {
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden");
    for name in ["rust_code", "multilingual"] {
        let path = golden.join(format!("tokenizer/llamacpp/{name}.json"));
        let g: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let input = golden.join(g["input"].as_str().unwrap());
        let out = ok_stdout(locallm(&["cost", "--count", input.to_str().unwrap()]));
        let expected = format!("{} tokens", g["n_tokens"]);
        assert!(out.contains(&expected), "{name}: want {expected} in\n{out}");
    }
}
