//! Chat templates rendered by our minijinja environment against Python's
//! jinja2 in the environment Hugging Face transformers gives templates.
//! Golden: tests/golden/chat_templates/renders.json and the template texts
//! beside it, from scripts/golden_templates.py (jinja2 version, template
//! sources and the fixed `strftime_now` time recorded there).
//!
//! Tolerance: byte-identical. The rendered prompt is the text the model
//! reads; a space or newline more is a different prompt. A template that
//! raises (`raise_exception`) must refuse with the same message.

use std::path::PathBuf;

use chrono::NaiveDateTime;
use locallm_quant::GgufFile;
use locallm_tokenizer::{ChatTemplate, Message, Tokenizer, TokenizerError};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/chat_templates")
}

fn golden() -> Value {
    let path = dir().join("renders.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn messages(conversation: &Value) -> Vec<Message> {
    conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| Message::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect()
}

#[test]
fn every_template_renders_every_conversation_like_jinja2() {
    let g = golden();
    let now =
        NaiveDateTime::parse_from_str(g["now"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S").unwrap();
    let conversations = g["conversations"].as_array().unwrap();
    let templates = g["templates"].as_array().unwrap();
    assert!(
        templates.len() >= 10 && conversations.len() >= 13,
        "golden lost cases"
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    for t in templates {
        let family = t["family"].as_str().unwrap();
        let source =
            std::fs::read_to_string(dir().join(t["template_file"].as_str().unwrap())).unwrap();
        let template = ChatTemplate::new(
            &source,
            t["bos_token"].as_str().unwrap(),
            t["eos_token"].as_str().unwrap(),
        )
        .unwrap_or_else(|e| panic!("{family}: {e}"))
        .with_fixed_time(now);
        for r in t["renders"].as_array().unwrap() {
            let name = r["conversation"].as_str().unwrap();
            let conversation = conversations.iter().find(|c| c["name"] == name).unwrap();
            let gen_prompt = r["add_generation_prompt"].as_bool().unwrap();
            let tools = conversation["tools"]
                .as_array()
                .map(|_| &conversation["tools"]);
            let ours = template.render_with_tools(&messages(conversation), tools, gen_prompt);
            let case = format!("{family} / {name} / add_generation_prompt={gen_prompt}");
            checked += 1;
            match (ours, r.get("output"), r.get("error")) {
                (Ok(text), Some(want), _) if text == want.as_str().unwrap() => {}
                (Ok(text), Some(want), _) => failures.push(format!(
                    "{case}:\n--- jinja2\n{}\n--- ours\n{text}",
                    want.as_str().unwrap()
                )),
                (Err(TokenizerError::TemplateRefused(m)), _, Some(want))
                    if m == want.as_str().unwrap() => {}
                (ours, _, want) => {
                    failures.push(format!("{case}: ours {ours:?}, jinja2 error {want:?}"))
                }
            }
        }
    }
    assert!(checked >= 250, "only {checked} renderings checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} renderings differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `tojson` as transformers defines it (Python's `json.dumps`), on the
/// options templates use: `indent`, `separators`, `sort_keys`,
/// `ensure_ascii`. Expected strings are what Python 3.11's `json.dumps`
/// prints for the same value.
#[test]
fn tojson_writes_what_python_json_dumps_writes() {
    let t = |src: &str| {
        ChatTemplate::new(src, "", "")
            .unwrap()
            .render(&[], false)
            .unwrap()
    };
    let v = r#"{"b": [1, 2.5, none, true], "a": "é<&>'\"\n", "c": {}, "d": []}"#;
    // json.dumps({"b": [1, 2.5, None, True], "a": "é<&>'\"\n", "c": {}, "d": []}, ensure_ascii=False)
    assert_eq!(
        t(&format!("{{{{ {v} | tojson }}}}")),
        r#"{"b": [1, 2.5, null, true], "a": "é<&>'\"\n", "c": {}, "d": []}"#
    );
    assert_eq!(
        t(&format!(
            "{{{{ {v} | tojson(indent=2, sort_keys=true, ensure_ascii=true) }}}}"
        )),
        "{\n  \"a\": \"\\u00e9<&>'\\\"\\n\",\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true\n  ],\n  \"c\": {},\n  \"d\": []\n}"
    );
    assert_eq!(
        t("{{ [1, {'k': 0.00001}] | tojson(separators=[',', ':']) }}"),
        r#"[1,{"k":1e-05}]"#
    );
}

/// The Gemma 3 file this project fetches is the base model: the golden
/// script found no `tokenizer.chat_template` in it, and neither do we (so
/// `chat` has nothing to render and must say so, rather than make one up).
#[test]
fn gemma3_270m_is_a_base_model_without_a_template() {
    let g = golden();
    let record = g["without_template"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["file"] == "gemma-3-270m-Q4_K_M.gguf")
        .expect("the golden records Gemma 3's file");
    let path = locallm_models::ensure(&locallm_models::GEMMA3_270M_Q4_K_M).expect("Gemma 3");
    assert_eq!(
        record["file_sha256"],
        locallm_models::GEMMA3_270M_Q4_K_M.sha256,
        "the golden was made from another file"
    );
    let gguf = GgufFile::open(&path).unwrap();
    assert!(record["chat_template"].is_null());
    assert!(matches!(
        ChatTemplate::from_metadata(&gguf.metadata),
        Err(TokenizerError::NoChatTemplate)
    ));
    let tokenizer = Tokenizer::from_metadata(&gguf.metadata).unwrap();
    assert!(tokenizer.chat_template_source().is_none());
}
