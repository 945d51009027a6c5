#!/usr/bin/env bash
# Regenerates the pruning table and plot of chapter 17.3 (book/src/figures/pruning.*):
# SmolLM2-135M pruned with magnitude and Wanda scores at 10-60 % unstructured,
# 4:8, 2:4 and structured 10/25 %, perplexity on the GPL-3 text, Wanda
# calibrated on 4096 tokens of a different text (the GFDL 1.3).
# About 40 minutes on two CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -p locallm-cli -- prune-sweep \
  --file tests/golden/texts/gpl-3.txt \
  --calib tests/golden/texts/gfdl-1.3.txt --calib-tokens 4096 --calib-seq 256 \
  --ctx 512 \
  --out book/src/figures "$@"
