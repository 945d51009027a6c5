#!/usr/bin/env bash
# Regenerates the measured figures of chapters 11, 12 and 18 on this machine:
#   book/src/figures/bench-table.txt        locallm bench -t 2            (chapter 11)
#   book/src/figures/bench-vs-llamacpp.txt  scripts/bench_vs_llamacpp.sh  (chapter 12)
#   book/src/figures/bench-ttft.txt         prefill lengths vs decode     (chapter 18)
#   book/src/figures/bandwidth.{md,json,svg} locallm bench-sweep          (chapter 11)
# Run it on a quiet machine: other work on the cores changes every number.
set -euo pipefail
cd "$(dirname "$0")/.."
FIG=book/src/figures
THREADS="${THREADS:-2}"
BIN="$(bash scripts/reference/build_llamacpp.sh | tail -1)"
cargo build --release -q -p locallm-cli
LOCALLM=target/release/locallm
"$LOCALLM" bench -t "$THREADS" | tee "$FIG/bench-table.txt"
bash scripts/bench_vs_llamacpp.sh "" "$THREADS" | tee "$FIG/bench-vs-llamacpp.txt"
"$LOCALLM" bench -p 16,64,256,1024 -n 128 -r 2 -t "$THREADS" | tee "$FIG/bench-ttft.txt"
"$LOCALLM" bench-sweep -t "$THREADS" --out "$FIG" --llama-bench "$BIN/llama-bench"
