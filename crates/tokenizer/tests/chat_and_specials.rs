//! The real SmolLM2 chat template and special tokens.

mod common;

use common::{metadata, tokenizer};
use locallm_tokenizer::{ChatTemplate, Message};

#[test]
fn smollm2_template_renders_chatml() {
    let tok = tokenizer();
    let template = tok.chat_template().unwrap();
    let messages = [
        Message::system("You are a pirate."),
        Message::user("Where is the treasure?"),
    ];
    let prompt = template.render(&messages, true).unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a pirate.<|im_end|>\n\
         <|im_start|>user\nWhere is the treasure?<|im_end|>\n\
         <|im_start|>assistant\n"
    );
    // Without the generation prompt, the assistant header is not added.
    let no_gen = template.render(&messages, false).unwrap();
    assert_eq!(
        prompt.strip_suffix("<|im_start|>assistant\n"),
        Some(no_gen.as_str())
    );

    // The same template straight from the metadata.
    let from_md = ChatTemplate::from_metadata(metadata()).unwrap();
    assert_eq!(from_md.render(&messages, true).unwrap(), prompt);
}

#[test]
fn smollm2_template_adds_its_default_system_prompt() {
    let template = tokenizer().chat_template().unwrap();
    let prompt = template.render(&[Message::user("Hi")], true).unwrap();
    // The template's own default system turn comes first.
    let source = tokenizer().chat_template_source().unwrap();
    let system = prompt.split("<|im_end|>\n").next().unwrap();
    assert!(system.starts_with("<|im_start|>system\n"), "{prompt}");
    assert!(
        source.contains(&system["<|im_start|>system\n".len()..]),
        "{system}"
    );
    assert!(prompt.ends_with("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
}

#[test]
fn rendered_prompt_tokenizes_with_single_special_ids() {
    let tok = tokenizer();
    let prompt = tok
        .chat_template()
        .unwrap()
        .render(&[Message::system("Be brief."), Message::user("2+2?")], true)
        .unwrap();
    let ids = tok.encode_prompt(&prompt).unwrap();
    let im_start = tok.token_id("<|im_start|>").unwrap();
    let im_end = tok.token_id("<|im_end|>").unwrap();
    let count = |id| ids.iter().filter(|&&x| x == id).count();
    assert_eq!(count(im_start), 3);
    assert_eq!(count(im_end), 2);
    // No BOS for SmolLM2 (add_bos_token = false), so the prompt starts with <|im_start|>.
    assert_eq!(ids[0], im_start);
    assert_eq!(tok.decode(&ids).unwrap(), prompt);
    // As plain text, the markers are split into several ordinary tokens.
    let plain = tok.encode(&prompt, false).unwrap();
    assert_eq!(
        plain
            .iter()
            .filter(|&&x| x == im_start || x == im_end)
            .count(),
        0
    );
    assert!(plain.len() > ids.len() + 5 * 3);
}

#[test]
fn special_ids_and_flags_come_from_the_metadata() {
    let tok = tokenizer();
    let md = metadata();
    let id = |key| md.get_u64(key).map(|v| v as u32);
    assert_eq!(tok.bos_id(), id("tokenizer.ggml.bos_token_id"));
    assert_eq!(tok.eos_id(), id("tokenizer.ggml.eos_token_id"));
    assert_eq!(tok.unk_id(), id("tokenizer.ggml.unknown_token_id"));
    assert_eq!(tok.pad_id(), id("tokenizer.ggml.padding_token_id"));
    assert_eq!(
        tok.add_bos_token(),
        md.get_bool("tokenizer.ggml.add_bos_token").unwrap()
    );
    assert_eq!(
        tok.pre_tokenizer(),
        Some(md.get_str("tokenizer.ggml.pre").unwrap())
    );
    assert_eq!(
        tok.vocab_size(),
        md.get_str_array("tokenizer.ggml.tokens").unwrap().len()
    );
    // BOS is added exactly when the file asks for it.
    let ids = tok.encode_prompt("hi").unwrap();
    assert_eq!(ids.first() == tok.bos_id().as_ref(), tok.add_bos_token());
}

#[test]
fn stop_tokens_are_eos_and_end_of_turn_markers() {
    let tok = tokenizer();
    let stops = tok.stop_tokens();
    let eos = tok.eos_id().unwrap();
    assert!(stops.contains(&eos));
    for marker in ["<|im_end|>", "<|endoftext|>"] {
        let id = tok.token_id(marker).unwrap();
        assert!(tok.is_stop(id), "{marker} should stop generation");
    }
    // Ordinary tokens and the turn *start* do not stop.
    assert!(!tok.is_stop(tok.token_id("<|im_start|>").unwrap()));
    assert!(!tok.is_stop(tok.encode("Hello", false).unwrap()[0]));
}

#[test]
fn special_tokens_are_the_control_tokens_of_the_file() {
    let tok = tokenizer();
    let types = metadata()
        .get_i64_array("tokenizer.ggml.token_type")
        .unwrap();
    let mut ids: Vec<u32> = tok.special_tokens().map(|(id, _)| id).collect();
    ids.sort_unstable();
    let expected: Vec<u32> = (0..types.len() as u32)
        .filter(|&i| matches!(types[i as usize], 2..=4))
        .collect();
    assert_eq!(ids, expected);
    for (id, text) in tok.special_tokens() {
        assert_eq!(tok.encode(text, true).unwrap(), [id], "{text}");
        assert_eq!(tok.token_to_piece(id).unwrap(), text.as_bytes());
    }
}

/// A chat template comes from the model file, so it is untrusted code: it
/// must not read files (`include`, `import`, `extends` find no loader),
/// and message content is data, never template code.
#[test]
fn templates_cannot_read_files_and_content_is_not_code() {
    let passwd = std::path::Path::new("/etc/passwd");
    assert!(passwd.exists(), "the test needs a file to try to read");
    for source in [
        "{% include '/etc/passwd' %}",
        "{% import '/etc/passwd' as x %}",
        "{% extends '/etc/passwd' %}",
        "{% include 'chat_template' %}{% include '../../../../etc/passwd' %}",
    ] {
        let template = ChatTemplate::new(source, "", "").unwrap();
        let err = template.render(&[Message::user("hi")], true);
        assert!(err.is_err(), "{source} rendered: {err:?}");
    }
    let template = tokenizer().chat_template().unwrap();
    let hostile = "{{ 7*7 }}{% include '/etc/passwd' %}{{ raise_exception('x') }}";
    let prompt = template.render(&[Message::user(hostile)], true).unwrap();
    assert!(prompt.contains(hostile), "{prompt}");
}
