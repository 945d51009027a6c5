//! The book's table of next-token alternatives (chapter 0.3): SmolLM2
//! answers a question greedily, and for each of its first tokens we keep the
//! model's five most likely tokens with their log-probabilities — what the
//! server's `logprobs: true, top_logprobs: 5` returns.
//!
//!     cargo run -p locallm-infer --example logprobs_table
//!
//! Writes book/src/figures/logprobs-top5.json (the numbers) and
//! logprobs-top5.md (the table the chapter includes). Greedy decoding on
//! fixed weights: the numbers do not depend on the machine's load.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use locallm_infer::{GenerateOptions, SamplerConfig, Session};
use locallm_model::{LoadOptions, default_device};
use locallm_tokenizer::{Message, Tokenizer};
use serde_json::json;

const QUESTION: &str = "What is the capital of France?";
const TOKENS: usize = 6;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = locallm_models::default_model()?;
    let gguf = Arc::new(locallm_quant::GgufFile::open(&path)?);
    let tokenizer = Tokenizer::from_metadata(&gguf.metadata)?;
    let device = default_device()?;
    let model = locallm_model::load_llama_for_inference(&gguf, &device, &LoadOptions::default())?;
    // the prompt the server builds for one user message
    let text = tokenizer
        .chat_template()?
        .render(&[Message::new("user", QUESTION)], true)?;
    let prompt = tokenizer.encode_prompt(&text)?;

    let mut session = Session::new(&model, 256, &device);
    let opts = GenerateOptions {
        max_tokens: TOKENS,
        sampler: SamplerConfig::greedy(),
        stop_tokens: tokenizer.stop_tokens().to_vec(),
    };
    let mut generation = session.generate(&prompt, opts)?.with_logprobs(5);
    let piece =
        |id: u32| String::from_utf8_lossy(tokenizer.token_to_piece(id).unwrap_or(b"")).into_owned();
    let mut positions = Vec::new();
    while generation.next().is_some() {
        let lp = generation.last_logprobs().expect("asked for").clone();
        let top: Vec<_> = (lp.top.iter())
            .map(|&(id, logprob)| json!({"token": piece(id), "id": id, "logprob": logprob}))
            .collect();
        positions
            .push(json!({"token": piece(lp.id), "id": lp.id, "logprob": lp.logprob, "top": top}));
    }

    let figures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/figures");
    let model_name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let data = json!({
        "model": model_name,
        "question": QUESTION,
        "sampler": "greedy",
        "distribution": "the model's log softmax of the logits, before any sampling stage",
        "positions": positions,
    });
    std::fs::write(
        figures.join("logprobs-top5.json"),
        serde_json::to_string_pretty(&data)? + "\n",
    )?;

    // one row per generated token: the answer so far, then the five best
    let cell = |token: &str, logprob: f64| {
        let shown = token.replace('\n', "\\n").replace('|', "\\|");
        match 100.0 * logprob.exp() {
            p if p < 0.05 => format!("`{shown}` <0.1%"),
            p => format!("`{shown}` {p:.1}%"),
        }
    };
    let mut md = String::from(
        "| answer so far | 1st | 2nd | 3rd | 4th | 5th |\n|---|---|---|---|---|---|\n",
    );
    let mut so_far = String::new();
    for p in &positions {
        let row: Vec<String> = (p["top"].as_array().unwrap().iter())
            .map(|t| cell(t["token"].as_str().unwrap(), t["logprob"].as_f64().unwrap()))
            .collect();
        let shown = if so_far.is_empty() {
            "(nothing yet)".to_string()
        } else {
            format!("`{so_far}`")
        };
        writeln!(md, "| {shown} | {} |", row.join(" | "))?;
        so_far.push_str(p["token"].as_str().unwrap());
    }
    std::fs::write(figures.join("logprobs-top5.md"), md)?;
    println!("wrote book/src/figures/logprobs-top5.{{json,md}}");
    Ok(())
}
