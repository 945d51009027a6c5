#!/usr/bin/env bash
# Chapter 4: a tiny Llama trained from scratch (a few minutes on 2 cores),
# then the same model trained for 800 steps to show over-fitting.
set -euo pipefail
cd "$(dirname "$0")/../.."
LOCALLM=${LOCALLM:-"cargo run --release -q -p locallm-cli --"}
DATA="--data tests/golden/texts/gpl-3.txt --data tests/golden/texts/gfdl-1.3.txt"
rm -rf target/runs/tiny target/runs/tiny-800 && mkdir -p target/runs book/src/figures
$LOCALLM train --config scripts/train/tiny.toml $DATA --out target/runs/tiny
cp target/runs/tiny/loss.svg book/src/figures/ch04-tiny-loss.svg
sed 's/^steps = .*/steps = 800/' scripts/train/tiny.toml > target/runs/tiny-800.toml
$LOCALLM train --config target/runs/tiny-800.toml $DATA --out target/runs/tiny-800
cp target/runs/tiny-800/loss.svg book/src/figures/ch04-overfitting.svg
# the exported model loads in `locallm generate`
$LOCALLM generate --model target/runs/tiny/model.gguf --raw --prompt "The " --temperature 0 --max-tokens 40
# ... and in llama.cpp (built by scripts/reference/build_llamacpp.sh), whose
# greedy continuation is the same text
LLAMA=${LLAMA_BIN:-$HOME/.cache/locallm-ref/llama.cpp-0.3.36/build/bin}
if [ -x "$LLAMA/llama-simple" ]; then
  "$LLAMA/llama-simple" -m target/runs/tiny/model.gguf -n 40 "The " 2>/dev/null
fi
