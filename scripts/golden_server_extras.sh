#!/usr/bin/env bash
# Golden file for the server extras (/tokenize, /detokenize, /metrics) from
# llama-server on the default model:
#
#   scripts/golden_server_extras.sh
#
# writes tests/golden/server/extras.json (see scripts/golden_server_extras.py).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
MODEL="$("$REPO/scripts/reference/default_model.sh")"
BIN="$("$REPO/scripts/reference/build_llamacpp.sh" | tail -n1)"
REF_ROOT="$(dirname "$(dirname "$BIN")")"   # .../llama.cpp-<version>
python3 "$REPO/scripts/golden_server_extras.py" \
    --bin "$BIN" --ref-root "$REF_ROOT" --model "$MODEL" --golden "$REPO/tests/golden"
