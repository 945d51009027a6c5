#!/usr/bin/env bash
# Golden files from llama.cpp (our reference) for the default model.
#
#   scripts/golden_llamacpp.sh
#
# Builds llama.cpp if needed (scripts/reference/build_llamacpp.sh), then writes,
# under tests/golden/:
#   texts/gpl-3.txt                  the perplexity text (GPL-3, verbatim copy)
#   generate/greedy.json             prompt ids + 32 greedy tokens + top-5 probs (llama-server)
#   tokenizer/llamacpp/<name>.json   llama-tokenize ids for tokenizer/corpus/* and texts/gpl-3.txt
#   perplexity/gpl3_ctx{128,512}.json  llama-perplexity results and its exact protocol
# Every output records the llama.cpp version, build flags and model sha256.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
GOLDEN="$REPO/tests/golden"
MODEL="$("$REPO/scripts/reference/default_model.sh")"

BIN="$("$REPO/scripts/reference/build_llamacpp.sh" | tail -n1)"
REF_ROOT="$(dirname "$(dirname "$BIN")")"   # .../llama.cpp-<version>

mkdir -p "$GOLDEN/texts"
# GPL-3 permits verbatim copies; it is ~8k tokens of English for perplexity.
cp /usr/share/common-licenses/GPL-3 "$GOLDEN/texts/gpl-3.txt"

python3 "$REPO/scripts/golden_llamacpp.py" \
    --bin "$BIN" --ref-root "$REF_ROOT" --model "$MODEL" --golden "$GOLDEN" "$@"
