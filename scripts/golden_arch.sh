#!/usr/bin/env bash
# Tiny random-weight models of every supported family and llama.cpp's logits
# on them (see scripts/golden_arch.py):
#
#   scripts/golden_arch.sh
#
# Builds scripts/reference/logits.cpp against the static libraries of the
# reference llama.cpp (scripts/reference/build_llamacpp.sh), then writes
# tests/golden/arch/<arch>.{gguf,json}.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$("$REPO/scripts/reference/build_llamacpp.sh" | tail -n1)"
REF_ROOT="$(dirname "$(dirname "$BIN")")"   # .../llama.cpp-<version>

LOGITS="$REF_ROOT/build/bin/locallm-logits"
SRC="$REPO/scripts/reference/logits.cpp"
if [ ! -x "$LOGITS" ] || [ "$SRC" -nt "$LOGITS" ]; then
    B="$REF_ROOT/build"
    c++ -O2 -std=c++17 -I"$REF_ROOT/src/include" -I"$REF_ROOT/src/ggml/include" "$SRC" \
        "$B/src/libllama.a" "$B/ggml/src/libggml.a" "$B/ggml/src/libggml-cpu.a" "$B/ggml/src/libggml-base.a" \
        -fopenmp -lpthread -ldl -o "$LOGITS"
fi

cd "$REPO/scripts"
python3 golden_arch.py --ref-root "$REF_ROOT" --logits "$LOGITS" --golden "$REPO/tests/golden" "$@"
