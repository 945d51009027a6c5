//! `locallm`: one thin module per subcommand; the logic lives in the crates.

use clap::{CommandFactory, Parser, Subcommand};

mod answer;
mod commands;
mod loaded;
mod model_arg;
mod suite;

#[derive(Parser)]
#[command(
    name = "locallm",
    version,
    about = "Run, inspect and measure a local LLM built from scratch",
    after_help = loaded::ENV_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Chat with the model (streamed, multi-turn, line editing); /help lists the commands.
    Chat(commands::chat::Args),
    /// Generate a continuation of one prompt; stdout holds only the text.
    Generate(commands::generate::Args),
    /// Print the token ids of a text as a JSON array.
    Tokenize(commands::tokenize::Args),
    /// Show a GGUF file's metadata and tensors, or dump one tensor as .npy.
    Inspect(commands::inspect::Args),
    /// Prompt and decode speed and peak memory, as llama-bench measures them (JSON).
    Bench(commands::bench::Args),
    /// Decode speed vs file size over quantization mixes, with the bandwidth ceiling (chapter 11).
    BenchSweep(commands::bench::SweepArgs),
    /// Perplexity of a text, following llama.cpp's llama-perplexity protocol.
    Perplexity(commands::perplexity::Args),
    /// Fetch and verify a model by name (default: the default model); prints its path.
    Pull(commands::pull::Args),
    /// The models usable by name: cached ones, and GGUFs in a Hugging Face or Ollama cache.
    List(commands::list::Args),
    /// Serve the model over HTTP: OpenAI and Anthropic APIs, and a chat page.
    Serve(commands::serve::Args),
    /// Quantize a GGUF model to a mix such as Q4_K_M (llama-quantize's rules).
    Quantize(commands::quantize::Args),
    /// Fine-tune a LoRA/QLoRA adapter on chat JSONL (PEFT format out).
    Finetune(commands::finetune::Args),
    /// Use a LoRA adapter: merge it into a GGUF, or measure exact-match accuracy.
    Lora(commands::lora::Args),
    /// Quantize to every mix and tabulate size vs KL divergence (chapter 17.1).
    QuantSweep(commands::quant_sweep::Args),
    /// Prune a model (magnitude, Wanda, N:M or structured) and write it as GGUF.
    Prune(commands::prune::Args),
    /// Prune with magnitude and Wanda at many sparsities; tabulate perplexity (chapter 17.3).
    PruneSweep(commands::prune_sweep::Args),
    /// Memory a model needs (weights, KV cache, scratch) and the machines it fits (chapter 21).
    Fits(commands::fits::Args),
    /// Price a workload of tokens, or count a file's tokens (chapter 13).
    Cost(commands::cost::Args),
    /// Answer from your own files: BM25 search over chunks, or ask with sources (chapter 6).
    Rag(commands::rag::Args),
    /// Embed a text with all-MiniLM-L6-v2 (chapter 24).
    Embed(commands::embed::Args),
    /// Train a tiny Llama from scratch on a text file (chapter 4), or `--toys` (chapters 1-3).
    Train(commands::train::Args),
    /// Distill a small student from a teacher model; `--alpha 0` trains on the text alone (chapter 17.2).
    Distill(commands::distill::Args),
    /// Check this machine: CPU features, memory, disk, the model, backends (chapter 20).
    Doctor(commands::doctor::Args),
    /// Score models on a task suite (exact / contains / JSON), side by side (chapter 19).
    Eval(commands::eval::Args),
    /// Score tool calls on a tool-use suite, with and without constrained decoding (chapter 25).
    EvalTools(commands::eval_tools::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::completions::Args),
}

/// `locallm fits | head` should end quietly when `head` closes the pipe, as
/// other Unix tools do, instead of panicking in `println!`. Rust ignores
/// SIGPIPE by default; the server keeps that, since a client that hangs up
/// must not end it.
fn die_on_closed_stdout() {
    #[cfg(unix)]
    // SAFETY: called before any thread starts; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// One malloc arena for the whole process. A forward pass allocates its
/// scratch tensors on whichever thread of the pool runs each operation, and
/// glibc gives each thread its own arena that keeps what was freed in it: a
/// long prompt's second 512-token batch then found the first batch's
/// attention scores (tens of MiB) parked in another thread's arena and took
/// new memory, ~15% more resident memory than the tensors alive at any
/// moment. Tensors are few and large, so one arena's lock is not contended.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before any thread starts; a plain glibc tunable.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn main() {
    one_malloc_arena();
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        die_on_closed_stdout();
    }
    let result = match cli.command {
        Command::Chat(a) => commands::chat::run(a),
        Command::Generate(a) => commands::generate::run(a),
        Command::Tokenize(a) => commands::tokenize::run(a),
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Perplexity(a) => commands::perplexity::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::BenchSweep(a) => commands::bench::run_sweep(a),
        Command::Pull(a) => commands::pull::run(a),
        Command::List(a) => commands::list::run(a),
        Command::Serve(a) => commands::serve::run(a),
        Command::Quantize(a) => commands::quantize::run(a),
        Command::Finetune(a) => commands::finetune::run(a),
        Command::Lora(a) => commands::lora::run(a),
        Command::QuantSweep(a) => commands::quant_sweep::run(a),
        Command::Prune(a) => commands::prune::run(a),
        Command::PruneSweep(a) => commands::prune_sweep::run(a),
        Command::Fits(a) => commands::fits::run(a),
        Command::Cost(a) => commands::cost::run(a),
        Command::Rag(a) => commands::rag::run(a),
        Command::Embed(a) => commands::embed::run(a),
        Command::Train(a) => commands::train::run(a),
        Command::Distill(a) => commands::distill::run(a),
        Command::Doctor(a) => commands::doctor::run(a),
        Command::Eval(a) => commands::eval::run(a),
        Command::EvalTools(a) => commands::eval_tools::run(a),
        Command::Completions(a) => commands::completions::run(a, Cli::command()),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
