#!/usr/bin/env bash
# Tiny random-weight models of every supported family and llama.cpp's logits
# on them (see scripts/golden_arch.py):
#
#   scripts/golden_arch.sh
#
# Builds scripts/reference/logits.cpp against the static libraries of the
# reference llama.cpp (scripts/reference/program.sh), then writes
# tests/golden/arch/<arch>.{gguf,json}.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
LOGITS="$("$REPO/scripts/reference/program.sh" logits | tail -n1)"
REF_ROOT="$(dirname "$(dirname "$(dirname "$LOGITS")")")"   # .../llama.cpp-<version>

cd "$REPO/scripts"
python3 golden_arch.py --ref-root "$REF_ROOT" --logits "$LOGITS" --golden "$REPO/tests/golden" "$@"
