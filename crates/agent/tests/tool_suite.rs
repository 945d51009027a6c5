//! Constrained tool calls on the real model: the grammars of
//! `locallm_agent::constraint`, sampled on the default model over the whole
//! tool-use suite.

use std::sync::Arc;

use locallm_agent::example_tools::{example_tools, parse_tool_suite};
use locallm_agent::{Agent, AgentOptions, LocalModel, Outcome, check_call};
use locallm_infer::Session;

/// Acceptance 4 of the tool-use issue: over the whole tool-use suite, every
/// call sampled under the tools' grammars (greedy, on the default model)
/// parses and validates against its tool's schema — and the agent loop,
/// constrained, never needs a retry.
#[test]
fn constrained_calls_over_the_tool_suite_parse_and_validate() {
    let path = locallm_models::default_model().unwrap();
    let gguf = Arc::new(locallm_quant::GgufFile::open(&path).unwrap());
    let tokenizer = Arc::new(locallm_tokenizer::Tokenizer::from_metadata(&gguf.metadata).unwrap());
    let device = locallm_model::default_device().unwrap();
    // the quantized fast path, as `locallm serve` runs it (and ~4x faster than f32)
    let model =
        locallm_model::load_llama_quantized(&gguf, &device, locallm_model::Kernels::Best).unwrap();
    let mut session = Session::new(&model, 1024, &device);
    let mut local = LocalModel::new(&mut session, tokenizer).unwrap();
    local.max_tokens = 48;
    let options = AgentOptions {
        max_steps: 2,
        max_retries: 0,
        constrained: true,
    };
    let agent = Agent::new(example_tools(), options).unwrap();
    let suite = include_str!("../../../evals/tool_use.jsonl");
    let cases = parse_tool_suite(suite).unwrap();
    assert!(cases.len() >= 50);
    for case in &cases {
        let messages = agent.first_messages(&case.prompt);
        let text = local.forced_call(&messages, agent.constraint()).unwrap();
        let call = check_call(&text, agent.definitions());
        assert!(
            matches!(call, Ok(Some(_))),
            "{}: {text} -> {call:?}",
            case.id
        );
    }
    // the loop itself, constrained: whatever the model does, no call it
    // makes is invalid, so it never gives up
    for case in &cases[..1] {
        let run = agent.run(&mut local, &case.prompt).unwrap();
        assert_eq!(run.retries, 0, "{}: {:?}", case.id, run.messages);
        assert!(
            !matches!(run.outcome, Outcome::GaveUp(_)),
            "{:?}",
            run.outcome
        );
    }
}
