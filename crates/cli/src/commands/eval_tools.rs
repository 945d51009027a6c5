//! `locallm eval-tools --suite evals/tool_use.jsonl [--json]`: how well the
//! model calls tools, without and with constrained decoding (chapter 25).
//!
//! Every prompt gets the three example tools (weather, calculator, units) in
//! the Hermes system prompt and one greedy assistant turn, like
//! `locallm eval`, decoded three ways (`--mode`): free, constrained once the
//! model opens a call, and forced (a call required, all of it constrained).
//! The turn is scored with the agent's own checks:
//! *valid* — it makes a call that parses, names a tool and whose arguments
//! validate against the schema; *correct* — the right tool with the right
//! arguments (numbers within 1e-6), or no call where no tool fits.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use locallm_agent::example_tools::{ToolCase, example_tools, parse_tool_suite};
use locallm_agent::hermes::CALL_OPEN;
use locallm_agent::{Agent, AgentOptions, ChatModel, LocalModel, check_call, same_call};
use locallm_infer::Session;
use serde::Serialize;

use crate::loaded;

#[derive(ClapArgs)]
pub struct Args {
    /// The suite: JSONL of {"id", "prompt", "expected": {"name", "arguments"} | null}.
    #[arg(long, default_value = "evals/tool_use.jsonl")]
    pub suite: PathBuf,
    /// GGUF model file (default: the default model).
    #[arg(short = 'm', long)]
    pub model: Option<PathBuf>,
    /// At most this many tokens per answer.
    #[arg(long, default_value_t = 96)]
    pub max_tokens: usize,
    /// Print every answer and score as JSON.
    #[arg(long)]
    pub json: bool,
    /// Decoding modes to run, in order (repeatable; default: all three).
    #[arg(long, value_enum)]
    pub mode: Vec<Mode>,
}

/// How the turn is decoded.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Free text: the model writes the call, or not, token by token.
    Free,
    /// The model chooses whether to call; once it opens `<tool_call>`, the
    /// call is sampled under the tools' grammars.
    Constrained,
    /// A call is required (`tool_choice: "required"`): the turn starts inside
    /// `<tool_call>` and the whole call is constrained.
    Forced,
}

#[derive(Serialize)]
struct ModeRun {
    mode: Mode,
    /// Turns that open `<tool_call>`.
    attempted: usize,
    /// Calls that parse and validate.
    valid: usize,
    /// Items that expect a call.
    expect_call: usize,
    correct_call: usize,
    expect_none: usize,
    correct_none: usize,
    seconds: f64,
    items: Vec<Scored>,
}

#[derive(Serialize)]
struct Scored {
    id: String,
    answer: String,
    valid: bool,
    correct: bool,
    error: Option<String>,
}

pub fn run(args: Args) -> Result<()> {
    let text = std::fs::read_to_string(&args.suite)
        .with_context(|| format!("cannot read {}", args.suite.display()))?;
    let cases = parse_tool_suite(&text)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("bad suite {}", args.suite.display()))?;
    let l = loaded::load_for_inference(args.model.as_deref())?;
    let ctx = l.model.config.context_length.min(2048);
    let mut session = Session::new(&l.model, ctx, &l.device);
    let mut model = LocalModel::new(&mut session, l.tokenizer.clone())?;
    model.max_tokens = args.max_tokens;
    let modes = if args.mode.is_empty() {
        vec![Mode::Free, Mode::Constrained, Mode::Forced]
    } else {
        args.mode.clone()
    };
    let agent = Agent::new(example_tools(), AgentOptions::default())?;
    let mut runs = Vec::new();
    for mode in modes {
        runs.push(run_mode(mode, &agent, &mut model, &cases)?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    } else {
        print_table(&runs);
    }
    Ok(())
}

// ANCHOR: score_turn
/// One greedy first turn per case, scored.
fn run_mode(
    mode: Mode,
    agent: &Agent,
    model: &mut LocalModel,
    cases: &[ToolCase],
) -> Result<ModeRun> {
    let t0 = Instant::now();
    let grammars = agent.constraint();
    let mut items = Vec::new();
    let mut attempted = 0;
    for case in cases {
        let messages = agent.first_messages(&case.prompt);
        let answer = match mode {
            Mode::Free => model.reply(&messages, None)?,
            Mode::Constrained => model.reply(&messages, Some(grammars))?,
            Mode::Forced => model.forced_call(&messages, grammars)?,
        };
        attempted += answer.contains(CALL_OPEN) as usize;
        let checked = check_call(&answer, agent.definitions());
        let valid = matches!(checked, Ok(Some(_)));
        let correct = match (&case.expected, &checked) {
            (Some(want), Ok(Some(got))) => same_call(want, got),
            (None, Ok(None)) => true,
            _ => false,
        };
        items.push(Scored {
            id: case.id.clone(),
            answer,
            valid,
            correct,
            error: checked.err().map(|e| e.to_string()),
        });
    }
    let expecting = |want: bool| {
        cases
            .iter()
            .zip(&items)
            .filter(move |(c, _)| c.expected.is_some() == want)
    };
    Ok(ModeRun {
        mode,
        attempted,
        valid: items.iter().filter(|i| i.valid).count(),
        expect_call: expecting(true).count(),
        correct_call: expecting(true).filter(|(_, i)| i.correct).count(),
        expect_none: expecting(false).count(),
        correct_none: expecting(false).filter(|(_, i)| i.correct).count(),
        seconds: t0.elapsed().as_secs_f64(),
        items,
    })
}
// ANCHOR_END: score_turn

fn print_table(runs: &[ModeRun]) {
    let pct = |a: usize, b: usize| format!("{a}/{b} ({:.0}%)", 100.0 * a as f64 / b.max(1) as f64);
    println!(
        "| decoding | calls made | valid calls (of made) | valid-call rate | correct calls | correct no-call | correct overall | time |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in runs {
        let n = r.expect_call + r.expect_none;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} s |",
            match r.mode {
                Mode::Free => "free",
                Mode::Constrained => "constrained (model decides)",
                Mode::Forced => "constrained, call forced",
            },
            r.attempted,
            pct(r.valid, r.attempted),
            pct(r.valid, n),
            pct(r.correct_call, r.expect_call),
            pct(r.correct_none, r.expect_none),
            pct(r.correct_call + r.correct_none, n),
            r.seconds,
        );
    }
}
