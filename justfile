# Everyday recipes. The two README commands work without `just`.

# Run every test (the README test command).
test:
    cargo test --workspace

# Chat with the default model (fetched on first run).
chat:
    cargo run --release -- chat

# Build the book into book/build.
book:
    mdbook build book

# Redraw the book's diagrams (book/src/figures/diagrams) from the code's shapes.
diagrams:
    cargo run -p locallm-plot --example diagrams

# Serve the book with live reload.
book-serve:
    mdbook serve book

# Check your exercises in book order, up to the first one not solved (learners run this).
exercises:
    bash exercises/check.sh

# Prove every exercise fails as shipped and passes when solved.
exercises-check:
    cargo test -p locallm-tests --test exercises_checker

# The model crate on the ndarray backend.
test-ndarray:
    cargo test -p locallm-model --no-default-features --features ndarray

# The wgpu backend computes what the CPU does (CI runs it on Mesa's lavapipe).
check-wgpu:
    cargo test -p locallm-model --features wgpu --test wgpu_logits -- --nocapture

# On a machine with a GPU: the wgpu logits test, then `bench` on the wgpu backend.
gpu-check *ARGS:
    cargo test --release -p locallm-model --features wgpu --test wgpu_logits -- --nocapture
    LOCALLM_BACKEND=wgpu cargo run --release -p locallm-cli --features wgpu -- bench {{ARGS}}

# Lints as CI wants them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Prompt and decode speed, peak memory and the bandwidth ceiling (llama-bench's fields).
bench *ARGS:
    cargo run --release -p locallm-cli -- bench {{ARGS}}

# Our engine against llama.cpp on the same file and threads, with the ratios.
bench-vs-llamacpp *ARGS:
    bash scripts/bench_vs_llamacpp.sh {{ARGS}}

# Continuous batching: our server against llama-server --parallel 8 -cb on the same
# file, 1/4/8/16 streaming clients (book/src/figures/batching.{json,md}; a quiet machine).
load-batching *ARGS:
    cargo build --release -p locallm-cli
    python3 scripts/load_batching.py {{ARGS}}

# Every measured figure the book reads its numbers from, and the host (a quiet machine; about an hour).
book-bench:
    bash scripts/book_bench_figures.sh

# Build llama.cpp (from the llama-cpp-python sdist) and regenerate the golden files.
golden:
    bash scripts/reference/build_llamacpp.sh
    bash scripts/golden_llamacpp.sh
    python3 scripts/golden_sampler.py
    python3 scripts/golden_tool_calls.py

# Everything CI runs.
ci:
    bash .ci/run

# Run every fuzz target for SECONDS each (CI: 60), two at a time (needs cargo-fuzz).
fuzz SECONDS="60":
    bash fuzz/run.sh {{SECONDS}}

# Fuzz the server's request parsing through the real router for SECONDS
# (CI runs it for 60 s as part of the serve tests); SEED replays a run.
fuzz-server SECONDS="600" SEED="":
    LOCALLM_FUZZ_SECS={{SECONDS}} LOCALLM_FUZZ_SEED={{SEED}} cargo test --release -p locallm-serve --test request_fuzz -- --nocapture

# Load-test the real server: 64 streaming clients with hang-ups and bad requests
# mixed in, for SECONDS (CI runs it for 3 s as part of the serve tests).
load-test SECONDS="60" MAX_TOKENS="16":
    LOCALLM_LOAD_SECS={{SECONDS}} LOCALLM_LOAD_MAX_TOKENS={{MAX_TOKENS}} cargo test -p locallm-serve --test concurrency load_sixty_four_clients_with_faults -- --nocapture
