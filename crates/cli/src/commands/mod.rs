pub mod bench;
pub mod chat;
pub mod completions;
pub mod cost;
pub mod distill;
pub mod doctor;
pub mod embed;
pub mod eval;
pub mod eval_tools;
pub mod finetune;
pub mod fits;
pub mod generate;
pub mod inspect;
pub mod list;
pub mod lora;
pub mod perplexity;
pub mod prune;
pub mod prune_sweep;
pub mod pull;
pub mod quant_sweep;
pub mod quantize;
pub mod rag;
pub mod serve;
pub mod tokenize;
pub mod train;

/// Writes one output file of a sweep (`DIR/NAME`, atomically) and says so on stderr.
pub fn write_report(dir: &std::path::Path, name: &str, body: String) -> anyhow::Result<()> {
    use anyhow::Context;
    let path = dir.join(name);
    locallm_train::write_atomic(&path, body.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
