#!/usr/bin/env bash
# llama.cpp's GBNF verdicts, token masks and grammar-constrained greedy
# generations (see scripts/golden_gbnf.py):
#
#   scripts/golden_gbnf.sh
#
# Builds scripts/reference/gbnf.cpp against the static libraries of the
# reference llama.cpp (scripts/reference/program.sh), writes the
# default model dequantized to F32 next to that build if it is not there
# yet, then writes tests/golden/gbnf/*.json.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
MODEL="$("$REPO/scripts/reference/default_model.sh")"
GBNF="$("$REPO/scripts/reference/program.sh" gbnf | tail -n1)"
REF_ROOT="$(dirname "$(dirname "$(dirname "$GBNF")")")"   # .../llama.cpp-<version>

F32_MODEL="$(dirname "$REF_ROOT")/SmolLM2-135M-Instruct.F32.gguf"
if [ ! -f "$F32_MODEL" ]; then
    python3 "$REPO/scripts/reference/dequantize_gguf_f32.py" "$MODEL" "$F32_MODEL"
fi

cd "$REPO/scripts"
python3 golden_gbnf.py --ref-root "$REF_ROOT" --gbnf "$GBNF" --model "$MODEL" --f32-model "$F32_MODEL" \
    --golden "$REPO/tests/golden" "$@"
