#!/usr/bin/env bash
# Chapter 26's worked example in one command:
#   scripts/lora/worked_example.sh [OUT_DIR]
# 1. generate the seeded meeting→JSON data set (600 train / 100 held-out);
# 2. exact-match accuracy of the base model on the held-out split (greedy);
# 3. train a LoRA adapter (rank 8, all seven projections);
# 4. exact-match accuracy of base + adapter on the same prompts.
# Results land in OUT_DIR (default target/lora-meeting): base_eval.json,
# lora_eval.json, adapter/ (PEFT files, loss.svg, train_log.json).
# Set LOCALLM to choose the binary, STEPS/BATCH/LR to change the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-target/lora-meeting}
LOCALLM=${LOCALLM:-target/release/locallm}
STEPS=${STEPS:-80}
BATCH=${BATCH:-8}
LR=${LR:-2e-3}
if [ ! -x "$LOCALLM" ]; then cargo build --release -p locallm-cli; fi
mkdir -p "$OUT"
python3 scripts/lora/meeting_data.py "$OUT/data"
echo "== base model"
"$LOCALLM" lora eval --data "$OUT/data/test.jsonl" --max-tokens 64 \
  --outputs "$OUT/base_outputs.jsonl" | tee "$OUT/base_eval.json"
echo "== fine-tuning"
rm -rf "$OUT/adapter"
"$LOCALLM" finetune --data "$OUT/data/train.jsonl" --eval "$OUT/data/test.jsonl" \
  --out "$OUT/adapter" --rank 8 --alpha 16 --steps "$STEPS" --batch "$BATCH" --lr "$LR" \
  --warmup 8 --eval-every 40 --checkpoint-every 20 --seed 0
echo "== base + LoRA"
"$LOCALLM" lora eval --lora "$OUT/adapter" --data "$OUT/data/test.jsonl" --max-tokens 64 \
  --outputs "$OUT/lora_outputs.jsonl" | tee "$OUT/lora_eval.json"
