#!/usr/bin/env bash
# Chapter 19's table: the default model and variants of it made by our own
# tools, scored by `locallm eval` on evals/tasks.jsonl (greedy, so the result
# is the same on every run of the same build).
#
#   scripts/eval/ch19_table.sh            # uses target/release/locallm
#   LOCALLM=target/debug/locallm scripts/eval/ch19_table.sh
#
# Writes evals/results/ch19.json (every answer) and evals/results/ch19.md.
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

python3 - <<'PY'
import json, os
runs = json.load(open("evals/results/ch19.json"))
names = {"SmolLM2-135M-Instruct.Q4_1.gguf": "Q4_1 (as shipped)", "q8_0.gguf": "Q8_0 (requantized)",
         "q2_k.gguf": "Q2_K", "magnitude-30.gguf": "magnitude 30%", "wanda-50.gguf": "Wanda 50%"}
cols = [names.get(os.path.basename(r["model"]), os.path.basename(r["model"])) for r in runs]
groups = ["arith", "capital", "format", "json"]
out = ["| task group | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
for g in groups + ["all"]:
    row = []
    for r in runs:
        items = [i for i in r["items"] if g == "all" or i["id"].startswith(g + "-")]
        row.append(f'{sum(i["correct"] for i in items)}/{len(items)}')
    label = "**all**" if g == "all" else g
    out.append(f"| {label} | " + " | ".join(row) + " |")
open("evals/results/ch19.md", "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
