#!/usr/bin/env bash
# Chapter 27's wrong-template answers: every prompt of evals/tasks.jsonl,
# greedy, wrapped in the Alpaca format instead of the model's ChatML
# template (`generate --raw`), 64 tokens at most.
#
#   scripts/eval/ch27_wrong_template.sh   # uses target/release/locallm
#
# Writes evals/results/ch27-alpaca.jsonl: {"id", "answer", "finish"} per line.
set -euo pipefail
cd "$(dirname "$0")/../.."
LOCALLM=${LOCALLM:-target/release/locallm}
out=evals/results/ch27-alpaca.jsonl
mkdir -p evals/results
: >"$out"
python3 -c '
import json, sys
for line in open("evals/tasks.jsonl"):
    if line.startswith("{"):
        t = json.loads(line)
        print(t["id"] + "\t" + json.dumps(t["prompt"]))
' | while IFS=$'\t' read -r id prompt_json; do
  prompt=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]))' "$prompt_json")
  text=$'### Instruction:\n'"$prompt"$'\n\n### Response:\n'
  answer=$("$LOCALLM" generate --raw --prompt "$text" --temperature 0 --max-tokens 64 2>/tmp/ch27-stats)
  finish=$(sed -n 's/.*(finish: \([A-Za-z]*\)).*/\1/p' /tmp/ch27-stats | tr 'A-Z' 'a-z')
  python3 -c 'import json,sys; print(json.dumps({"id": sys.argv[1], "answer": sys.argv[2], "finish": sys.argv[3]}))' \
    "$id" "$answer" "$finish" >>"$out"
done
echo "wrote $out"
