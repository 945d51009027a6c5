#!/usr/bin/env bash
# Chapter 9's table of model families and the `locallm inspect` listings of
# two real files, from the code and the files themselves:
#
#   scripts/book_families.sh
#
# writes book/src/figures/families.md (crates/model/examples/families_table.rs;
# crates/model/tests/families_table.rs checks it is current) and
# book/src/figures/inspect-{smollm2,gemma3}.txt (summary and metadata; the
# tensor list is cut after its first rows).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
MODELS="${LOCALLM_HOME:-$HOME/.cache/locallm}/models"
FIG=book/src/figures

cargo run -q -p locallm-cli -- pull gemma3-270m >/dev/null
cargo run -q -p locallm-model --example families_table -- \
    "$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf" "$MODELS/gemma-3-270m-Q4_K_M.gguf" \
    tests/golden/arch/{llama,qwen2,qwen3,gemma3,phi3}.gguf > "$FIG/families.md"

# `inspect` prints the file's path: shown relative to the cache
for pair in smollm2:smollm2-135m-instruct-q4_1 gemma3:gemma3-270m; do
    out="$FIG/inspect-${pair%%:*}.txt"
    cargo run -q -p locallm-cli -- inspect -m "${pair#*:}" \
        | sed "s|$MODELS/|~/.cache/locallm/models/|" \
        | awk '/^tensors:/ { print; n = 1; next } n > 0 && n <= 14 { print; n++; next } n > 14 { next } { print }' \
        > "$out"
    echo "  ..." >> "$out"
    echo "wrote $out"
done
echo "wrote $FIG/families.md"
