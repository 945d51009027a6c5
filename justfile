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

# Serve the book with live reload.
book-serve:
    mdbook serve book

# Check your exercise solutions (learners run this).
exercises:
    bash exercises/check.sh

# Prove every exercise fails as shipped and passes when solved.
exercises-check:
    cargo test -p locallm-tests --test exercises_checker

# The model crate on the ndarray backend.
test-ndarray:
    cargo test -p locallm-model --no-default-features --features ndarray

# The wgpu backend must keep compiling.
check-wgpu:
    cargo check -p locallm-model --no-default-features --features wgpu

# Lints as CI wants them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Build llama.cpp (from the llama-cpp-python sdist) and regenerate the golden files.
golden:
    bash scripts/reference/build_llamacpp.sh
    bash scripts/golden_llamacpp.sh

# Everything CI runs.
ci:
    bash .ci/run
