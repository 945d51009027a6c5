#!/usr/bin/env bash
# Chapter 19's comparison of the two registry models, SmolLM2-135M-Instruct
# (Q4_1) and Gemma 3 270M (Q4_K_M, a base model without a chat template),
# scored by `locallm eval` on evals/tasks.jsonl. Greedy decoding, so the
# scores are the same on every run of the same build, whatever the load.
#
# Gemma 3 270M has no chat template, so both models are scored in raw mode
# (`--raw`: the same plain few-shot text for both, the answer being the first
# line; the text is RAW_SHOTS in crates/cli/src/commands/eval.rs), and
# SmolLM2 also in its chat mode (its own template, as in ch19_table.sh).
#
#   scripts/eval/ch19_models.sh            # uses target/release/locallm
#   LOCALLM=target/debug/locallm scripts/eval/ch19_models.sh
#
# Writes evals/results/ch19-models.json (every prompt and answer) and
# evals/results/ch19-models.md (the table chapter 19 includes).
set -euo pipefail
cd "$(dirname "$0")/../.."
LOCALLM=${LOCALLM:-target/release/locallm}
mkdir -p evals/results
out=evals/results/ch19-models.json
raw=$(mktemp)
chat=$(mktemp)
trap 'rm -f "$raw" "$chat"' EXIT

"$LOCALLM" eval --suite evals/tasks.jsonl --json --raw \
  --model smollm2-135m-instruct-q4_1 --model gemma3-270m >"$raw"
"$LOCALLM" eval --suite evals/tasks.jsonl --json \
  --model smollm2-135m-instruct-q4_1 >"$chat"

python3 - "$raw" "$chat" "$out" "$LOCALLM" <<'PY'
import json, subprocess, sys
raw_file, chat_file, out, binary = sys.argv[1:]
runs = json.load(open(raw_file)) + json.load(open(chat_file))
version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
doc = {"tool": f"{version} eval --suite evals/tasks.jsonl (scripts/eval/ch19_models.sh)",
       "locallm": commit, "decoding": "greedy", "runs": runs}
open(out, "w").write(json.dumps(doc, indent=2) + "\n")
PY
python3 scripts/eval/score_table.py "$out" evals/results/ch19-models.md --mode
