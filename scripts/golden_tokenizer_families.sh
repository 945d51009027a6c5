#!/usr/bin/env bash
# Token-id goldens from llama.cpp for Gemma 3's and Llama 3's vocabularies.
#
#   scripts/golden_tokenizer_families.sh
#
# Needs the two files in the locallm cache (`locallm pull gemma3-270m` and
# `locallm pull llama3.2-tokenizer`, or `cargo test -p locallm-tokenizer
# --test families_golden`, which fetches both); builds llama.cpp if needed
# (scripts/reference/build_llamacpp.sh). Writes tests/golden/tokenizer/
# {gemma3,llama3}/*.json (see scripts/golden_tokenizer_families.py).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
MODELS="${LOCALLM_HOME:-$HOME/.cache/locallm}/models"
GEMMA="$MODELS/gemma-3-270m-Q4_K_M.gguf"
LLAMA3="$MODELS/llama3.2.tokenizer.json"
for f in "$GEMMA" "$LLAMA3"; do
    if [ ! -f "$f" ]; then
        echo "missing $f; fetch it with: locallm pull gemma3-270m; locallm pull llama3.2-tokenizer" >&2
        exit 1
    fi
done

BIN="$("$REPO/scripts/reference/build_llamacpp.sh" | tail -n1)"
REF_ROOT="$(dirname "$(dirname "$BIN")")"   # .../llama.cpp-<version>

python3 "$REPO/scripts/golden_tokenizer_families.py" \
    --bin "$BIN" --ref-root "$REF_ROOT" --gemma "$GEMMA" --llama3-tokenizer "$LLAMA3" \
    --golden "$REPO/tests/golden" --work "$REF_ROOT/vocab" "$@"
