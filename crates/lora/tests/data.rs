//! Data lines: both formats, bad lines with their numbers, and the answer mask
//! checked with the real model's tokenizer and chat template.

use locallm_lora::data::{parse_jsonl, tokenize_chat};
use locallm_lora::{LoraError, load_jsonl};
use locallm_quant::GgufFile;
use locallm_tokenizer::{Message, Tokenizer};

#[test]
fn bad_lines_are_reported_with_their_line_numbers() {
    let text = r#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
{"prompt": "2+2?", "completion": "4"}

{"messages": [{"role": "user", "content": "no answer"}]}
not json
{"prompt": "only a prompt"}
{"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]}
"#;
    let (good, bad) = parse_jsonl(text);
    assert_eq!(good.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(good[1].1, [Message::user("2+2?"), Message::assistant("4")]);
    let lines: Vec<usize> = bad.iter().map(|e| e.line).collect();
    assert_eq!(lines, [4, 5, 6, 7]);
    assert!(bad[0].reason.contains("no assistant"));
    assert!(bad[1].reason.contains("invalid JSON"));
    assert!(bad[2].reason.contains("completion"));
    assert!(bad[3].reason.contains("robot"));
}

fn tokenizer() -> Tokenizer {
    let path = locallm_models::default_model().unwrap();
    Tokenizer::from_metadata(&GgufFile::open(path).unwrap().metadata).unwrap()
}

#[test]
fn only_the_assistant_tokens_are_learned() {
    let tok = tokenizer();
    let messages = [
        Message::system("Be brief."),
        Message::user("Capital of France?"),
        Message::assistant("Paris."),
        Message::user("And of Italy?"),
        Message::assistant("Rome."),
    ];
    let (tokens, learn) = tokenize_chat(&tok, &messages).unwrap();
    // the whole sequence is what the template renders
    let full = tok
        .chat_template()
        .unwrap()
        .render(&messages, false)
        .unwrap();
    assert_eq!(tok.decode(&tokens).unwrap(), full);
    // the learned tokens are the two answers, each with its end-of-turn
    let learned: Vec<u32> = tokens
        .iter()
        .zip(&learn)
        .filter(|(_, l)| **l)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        tok.decode(&learned).unwrap(),
        "Paris.<|im_end|>\nRome.<|im_end|>\n"
    );
    // and the prompt part is exactly what generation is given
    let prompt = tok
        .chat_template()
        .unwrap()
        .render(&messages[..2], true)
        .unwrap();
    let first_learned = learn.iter().position(|&l| l).unwrap();
    assert_eq!(
        tokens[..first_learned],
        tok.encode(&prompt, true).unwrap()[..]
    );
}

#[test]
fn over_long_lines_are_skipped_or_rejected() {
    let tok = tokenizer();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.jsonl");
    let long = "word ".repeat(200);
    std::fs::write(
        &path,
        format!(
            "{{\"prompt\": \"hi\", \"completion\": \"ok\"}}\n{{\"prompt\": \"{long}\", \"completion\": \"ok\"}}\n"
        ),
    )
    .unwrap();
    let (examples, bad) = load_jsonl(&path, &tok, 64, false).unwrap();
    assert_eq!(examples.len(), 1);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].line, 2);
    assert!(bad[0].reason.contains("over the context"));
    match load_jsonl(&path, &tok, 64, true) {
        Err(LoraError::Data(e)) => assert!(e.to_string().contains("line 2"), "{e}"),
        other => panic!("expected a rejection, got {other:?}"),
    }
}
