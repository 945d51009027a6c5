#!/usr/bin/env bash
# Chapter 19's table: the default model and variants of it made by our own
# tools, scored by `locallm eval` on evals/tasks.jsonl (greedy, so the result
# is the same on every run of the same build).
#
#   scripts/eval/ch19_table.sh            # uses target/release/locallm
#   LOCALLM=target/debug/locallm scripts/eval/ch19_table.sh
#
# Writes evals/results/ch19.json (every answer) and evals/results/ch19.md
# (scripts/eval/score_table.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
LOCALLM=${LOCALLM:-target/release/locallm}
WORK=${WORK:-/tmp/locallm-ch19}
mkdir -p "$WORK" evals/results

base=$("$LOCALLM" pull)
calib=tests/golden/texts/gfdl-1.3.txt
[ -f "$WORK/q8_0.gguf" ] || "$LOCALLM" quantize "$base" "$WORK/q8_0.gguf" Q8_0
[ -f "$WORK/q2_k.gguf" ] || "$LOCALLM" quantize "$base" "$WORK/q2_k.gguf" Q2_K
[ -f "$WORK/magnitude-30.gguf" ] ||
  "$LOCALLM" prune --method magnitude --sparsity 0.3 "$base" "$WORK/magnitude-30.gguf" >/dev/null
[ -f "$WORK/wanda-50.gguf" ] ||
  "$LOCALLM" prune --method wanda --sparsity 0.5 --calib "$calib" "$base" "$WORK/wanda-50.gguf" >/dev/null

"$LOCALLM" eval --suite evals/tasks.jsonl --json \
  --model "$base" --model "$WORK/q8_0.gguf" --model "$WORK/q2_k.gguf" \
  --model "$WORK/magnitude-30.gguf" --model "$WORK/wanda-50.gguf" \
  >evals/results/ch19.json

python3 scripts/eval/score_table.py evals/results/ch19.json evals/results/ch19.md
