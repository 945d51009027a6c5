//! `locallm fits`, `cost`, `doctor` and `eval` end to end on the default model.

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

/// A size as `format_bytes` prints it ("210.43 MiB"), in bytes.
fn bytes_of(printed: &str) -> f64 {
    let mut parts = printed.split_whitespace();
    let n: f64 = parts.next().unwrap().parse().unwrap();
    let unit = match parts.next().unwrap() {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unit {other}"),
    };
    n * unit
}

/// `fits` must predict what our engine really takes: the peak resident
/// memory `bench` measures for a prompt of `p` tokens (a context of p + 2:
/// the prompt, one generated token and its successor), f32 cache.
#[test]
fn fits_matches_the_memory_bench_measures() {
    for p in [128u64, 1024] {
        let bench = locallm(&[
            "bench",
            "-p",
            &p.to_string(),
            "-n",
            "0",
            "-r",
            "1",
            "--json",
        ]);
        let bench: Value = serde_json::from_str(&ok_stdout(bench)).unwrap();
        let measured = bench["peak_rss_bytes"].as_f64().expect("peak RSS on Linux");

        let ctx = (p + 2).to_string();
        let fits = ok_stdout(locallm(&["fits", "--ctx", &ctx, "--cache-type", "f32"]));
        let total = line(&fits, "total").trim_start_matches("total").trim();
        let predicted = bytes_of(total);
        let error = (predicted - measured).abs() / measured;
        assert!(
            error <= 0.15,
            "prompt {p}: fits says {total}, bench measured {:.1} MiB ({:.0}% off)\n{fits}",
            measured / (1 << 20) as f64,
            error * 100.0
        );
    }
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
    let err = err_stderr(locallm(&["fits", "--runtime", "vllm"]));
    assert!(err.contains("unknown runtime \"vllm\""), "{err}");
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

/// `locallm doctor --json` with `LOCALLM_HOME` set (or not).
fn doctor(home: Option<&std::path::Path>) -> Value {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_locallm"));
    cmd.args(["doctor", "--json"]);
    if let Some(home) = home {
        cmd.env("LOCALLM_HOME", home);
    }
    serde_json::from_str(&ok_stdout(cmd.output().unwrap())).unwrap()
}

/// A `Key: N kB` line of /proc/meminfo, in bytes.
fn meminfo(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = text.lines().find(|l| l.starts_with(key)).unwrap();
    let kb: u64 = line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

fn shell(cmd: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(cmd).args(args).output().unwrap();
    assert!(out.status.success(), "{cmd} failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn doctor_agrees_with_the_system() {
    locallm_models::default_model().unwrap();
    let r = doctor(None);
    // cores as nproc counts them; memory as the kernel reports it
    let nproc: u64 = shell("nproc", &[]).parse().unwrap();
    assert_eq!(r["cpu"]["cores"], nproc, "{r:#}");
    assert_eq!(r["memory"]["total_bytes"], meminfo("MemTotal:"), "{r:#}");
    let avail = r["memory"]["available_bytes"].as_u64().unwrap() as f64;
    let now = meminfo("MemAvailable:") as f64;
    assert!((avail - now).abs() < 0.25 * now, "{avail} vs {now}");
    // the CPU flags the kernel lists
    let flags = shell("grep", &["-m1", "^flags", "/proc/cpuinfo"]);
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    for f in r["cpu"]["features"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        let flag = if name == "amx" { "amx_tile" } else { name };
        if cfg!(target_arch = "x86_64") {
            assert_eq!(f["present"], has(flag), "{name}: {flags}");
        }
    }
    assert_eq!(r["model"]["present"], true, "{r:#}");
    assert_eq!(r["model"]["verified"], true, "{r:#}");
    let backends = r["backends"]["compiled"].as_array().unwrap();
    assert!(backends.contains(&Value::from("flex")), "{r:#}");
    // largest model per quant: (available - reserve) × 8 / bits
    let largest = &r["largest_model"];
    let budget = avail - largest["reserve_bytes"].as_f64().unwrap();
    let rows = largest["by_quant"].as_array().unwrap();
    let q4 = rows.iter().find(|x| x["quant"] == "Q4_K_M").unwrap();
    assert_eq!(q4["bits_per_weight"], 4.5);
    let params = q4["params"].as_f64().unwrap();
    assert!((params - budget * 8.0 / 4.5).abs() < 1e3, "{q4}");
    assert!(
        !r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| { p["problem"].as_str().unwrap().contains("default model") })
    );
}

#[test]
fn doctor_reports_a_missing_model_with_its_fix() {
    let home = tempfile::tempdir().unwrap();
    let r = doctor(Some(home.path()));
    assert_eq!(r["model"]["present"], false, "{r:#}");
    assert_eq!(r["model"]["verified"], Value::Null, "{r:#}");
    let problems = r["problems"].as_array().unwrap();
    let missing = problems
        .iter()
        .find(|p| {
            p["problem"]
                .as_str()
                .unwrap()
                .contains("default model is not at")
        })
        .unwrap_or_else(|| panic!("{r:#}"));
    assert!(missing["fix"].as_str().unwrap().contains("locallm pull"));
    // free disk: what df says for the same file system, give or take other writers
    let df = shell(
        "df",
        &["-B1", "--output=avail", home.path().to_str().unwrap()],
    );
    let df: f64 = df.lines().last().unwrap().trim().parse().unwrap();
    let free = r["disk"]["free_bytes"].as_f64().unwrap();
    assert!((free - df).abs() < 0.02 * df + 1e8, "{free} vs {df}");
}

/// The suite file of the repository's evals/ directory.
fn suite(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../evals");
    dir.join(name).to_string_lossy().into_owned()
}

/// `locallm generate` with `args`, greedy, at most as many tokens as `eval`'s default.
fn greedy(args: &[&str]) -> String {
    let mut all = vec!["generate", "--temperature", "0", "--max-tokens", "64"];
    all.extend_from_slice(args);
    ok_stdout(locallm(&all))
}

#[test]
fn eval_scores_greedy_chat_answers_of_each_model() {
    let model = locallm_models::default_model().unwrap();
    let model = model.to_str().unwrap();
    let smoke = suite("smoke.jsonl");
    let args = [
        "eval", "--suite", &smoke, "--model", model, "--model", model, "--json",
    ];
    let runs: Value = serde_json::from_str(&ok_stdout(locallm(&args))).unwrap();
    let runs = runs.as_array().unwrap();
    // greedy decoding: the same model twice gives the same answers
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["items"], runs[1]["items"], "{runs:#?}");
    let items = runs[0]["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let correct = items.iter().filter(|i| i["correct"] == true).count();
    assert_eq!(runs[0]["correct"], correct);
    assert_eq!(runs[0]["total"], 3);
    // the answer is what `generate` gives greedily through the chat template
    let prompt = "What is the capital of France?";
    let generated = greedy(&["--prompt", prompt]);
    let capital = items.iter().find(|i| i["id"] == "capital").unwrap();
    assert_eq!(
        capital["answer"].as_str().unwrap(),
        generated.trim_end_matches('\n')
    );
    assert!(generated.contains("Paris"), "{generated}");
    assert_eq!(capital["correct"], true);
}

#[test]
fn eval_raw_scores_a_base_model_on_plain_few_shot_text() {
    // Gemma 3 270M is a base model: no chat template, so only --raw scores it
    let gemma = locallm_models::ensure(&locallm_models::GEMMA3_270M_Q4_K_M).unwrap();
    let gemma = gemma.to_str().unwrap();
    let smoke = suite("smoke.jsonl");
    let err = err_stderr(locallm(&["eval", "--suite", &smoke, "--model", gemma]));
    assert!(err.contains("template"), "{err}");
    let args = [
        "eval", "--suite", &smoke, "--model", gemma, "--raw", "--json",
    ];
    let runs: Value = serde_json::from_str(&ok_stdout(locallm(&args))).unwrap();
    assert_eq!(runs[0]["mode"], "raw");
    let items = runs[0]["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    for item in items {
        // the answer is the first line of what `generate --raw` continues
        // the same text with, greedily
        let prompt = item["prompt"].as_str().unwrap();
        assert!(
            prompt.starts_with("Q: ") && prompt.ends_with("\nA:"),
            "{prompt}"
        );
        let generated = greedy(&["-m", gemma, "--raw", "--prompt", prompt]);
        let first = generated.lines().next().unwrap_or("").trim();
        assert_eq!(item["answer"].as_str().unwrap(), first, "{generated:?}");
    }
}

#[test]
fn eval_rejects_a_bad_suite() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\": \"a\", \"prompt\": \"p\", \"score\": \"fuzzy\"}\n",
    )
    .unwrap();
    let err = err_stderr(locallm(&["eval", "--suite", bad.to_str().unwrap()]));
    assert!(err.contains("bad suite") && err.contains("line 1"), "{err}");
    let err = err_stderr(locallm(&["eval", "--suite", "/nonexistent.jsonl"]));
    assert!(err.contains("cannot read /nonexistent.jsonl"), "{err}");
}
