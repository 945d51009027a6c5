//! What the diagrams draw, read from the repository rather than typed in:
//! SmolLM2-135M's shapes and GGUF layout from the golden reading of its
//! header (`tests/golden/quant/model_facts.json`, written by gguf-py through
//! `scripts/golden_quant.py`), block sizes from `locallm-quant`, and the
//! names of functions, routes and defaults from the source files that
//! define them ([`Source::require`]: a figure whose names went stale fails
//! the freshness test instead of misleading the reader).

use std::path::{Path, PathBuf};

use locallm_quant::GgmlType;
use serde_json::Value;

/// Where the figures go, relative to the repository root.
pub const OUT_DIR: &str = "book/src/figures/diagrams";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// A source file of the repository, read to check the names a figure shows.
pub struct Source {
    path: String,
    text: String,
}

impl Source {
    pub fn open(repo: &Path, path: &str) -> Source {
        let text =
            std::fs::read_to_string(repo.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        Source {
            path: path.to_string(),
            text,
        }
    }

    /// Panics unless the file still contains `needle`.
    pub fn require(&self, needle: &str) {
        assert!(
            self.text.contains(needle),
            "a diagram shows `{needle}`, which {} no longer contains: update \
             crates/plot/examples/diagrams and rerun `just diagrams`",
            self.path
        );
    }
}

/// One tensor of the GGUF directory.
#[derive(Debug, Clone)]
pub struct Tensor {
    pub name: String,
    pub ty: GgmlType,
    /// GGUF order: the fastest-varying dimension first.
    pub shape: Vec<u64>,
    pub n_bytes: u64,
    /// From the start of the file.
    pub file_offset: u64,
}

/// SmolLM2-135M-Instruct's GGUF header, as gguf-py read it.
#[derive(Debug, Clone)]
pub struct ModelFacts {
    pub file_name: String,
    pub version: u64,
    pub kv_count: u64,
    pub alignment: u64,
    pub data_offset: u64,
    pub tensors: Vec<Tensor>,
    pub d_model: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub vocab: usize,
    /// The context length it was trained for.
    pub context: usize,
    pub n_merges: usize,
    pub file_size: u64,
}

impl ModelFacts {
    pub fn read(repo: &Path) -> ModelFacts {
        let path = repo.join("tests/golden/quant/model_facts.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let json: Value = serde_json::from_str(&text).expect("model_facts.json is JSON");
        let u = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("a number: {v}"));
        let kv = |key: &str| &json["kv"][key];
        let tensors: Vec<Tensor> = json["tensors"]
            .as_array()
            .expect("tensors")
            .iter()
            .map(|t| Tensor {
                name: t["name"].as_str().expect("name").to_string(),
                ty: GgmlType::from_u32(u(&t["type_id"]) as u32).expect("a ggml type"),
                shape: t["shape"]
                    .as_array()
                    .expect("shape")
                    .iter()
                    .map(u)
                    .collect(),
                n_bytes: u(&t["n_bytes"]),
                file_offset: u(&t["file_offset"]),
            })
            .collect();
        let d_model = u(&kv("llama.embedding_length")["value"]) as usize;
        let n_heads = u(&kv("llama.attention.head_count")["value"]) as usize;
        // the model's rule when the file gives no key_length (locallm_model::LlamaConfig)
        let head_dim = d_model / n_heads;
        assert_eq!(
            head_dim as u64,
            u(&kv("llama.rope.dimension_count")["value"]),
            "head_dim"
        );
        let last = tensors.last().expect("tensors");
        let facts = ModelFacts {
            file_name: json["model_file"].as_str().expect("model_file").to_string(),
            version: u(&json["version"]),
            kv_count: u(&json["kv_count"]),
            alignment: u(&json["alignment"]),
            data_offset: u(&json["data_offset"]),
            d_model,
            n_layers: u(&kv("llama.block_count")["value"]) as usize,
            n_heads,
            n_kv_heads: u(&kv("llama.attention.head_count_kv")["value"]) as usize,
            head_dim,
            vocab: u(&kv("llama.vocab_size")["value"]) as usize,
            context: u(&kv("llama.context_length")["value"]) as usize,
            n_merges: u(&kv("tokenizer.ggml.merges")["len"]) as usize,
            file_size: last.file_offset + last.n_bytes,
            tensors,
        };
        assert_eq!(facts.tensors.len() as u64, u(&json["tensor_count"]));
        facts.check_against_the_quant_crate();
        facts
    }

    /// The sizes gguf-py reported are the ones `locallm-quant` computes, and
    /// the tensors follow each other, each aligned: the layout the figure
    /// draws is the one our reader and writer use.
    fn check_against_the_quant_crate(&self) {
        let mut next = self.data_offset;
        for t in &self.tensors {
            let n: u64 = t.shape.iter().product();
            let bytes = n / t.ty.block_size() as u64 * t.ty.type_size() as u64;
            assert_eq!(bytes, t.n_bytes, "{}: bytes", t.name);
            assert_eq!(t.file_offset, next, "{}: offset", t.name);
            next = (t.file_offset + t.n_bytes).next_multiple_of(self.alignment);
        }
    }

    /// Bytes of the tensor directory: per tensor its name (u64 length +
    /// bytes), the number of dimensions (u32), the dimensions (u64 each),
    /// the type (u32) and the offset (u64), as the GGUF specification lays
    /// them out.
    pub fn directory_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .map(|t| 8 + t.name.len() as u64 + 4 + 8 * t.shape.len() as u64 + 4 + 8)
            .sum()
    }

    /// Query heads per KV head.
    pub fn group(&self) -> usize {
        self.n_heads / self.n_kv_heads
    }

    /// KV cache bytes per token with f32 entries (the engine's default):
    /// a key and a value row per layer and KV head.
    pub fn kv_bytes_per_token(&self, kv_heads: usize) -> usize {
        2 * self.n_layers * kv_heads * self.head_dim * 4
    }
}

/// `1785664` -> `1,785,664`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
