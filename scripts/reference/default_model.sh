#!/usr/bin/env bash
# Prints the path of the default model in the cache (SmolLM2-135M-Instruct
# Q4_1), or says how to fetch it and fails: the golden scripts run llama.cpp
# on the same file our tests load.
set -euo pipefail
MODEL="${LOCALLM_HOME:-$HOME/.cache/locallm}/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -f "$MODEL" ]; then
    echo "missing $MODEL; fetch it with: cargo test -p locallm-models --test default_model" >&2
    exit 1
fi
echo "$MODEL"
