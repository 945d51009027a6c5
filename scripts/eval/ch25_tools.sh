#!/usr/bin/env bash
# Chapter 25's tool-call scores: `locallm eval-tools` on evals/tool_use.jsonl
# in its three decoding modes (free, constrained, forced), one greedy turn per
# prompt. Greedy decoding: the scores are the same on every run of the same
# build and kernels, whatever the load (the times are not, and are left out).
#
#   scripts/eval/ch25_tools.sh            # uses target/release/locallm
#   LOCALLM=target/debug/locallm scripts/eval/ch25_tools.sh
#
# Writes book/src/figures/tool-eval.json (every prompt, answer and score, the
# sums the prose quotes through {{measure}} markers, and the host), and the
# two tables chapter 25 includes: tool-eval.md (per mode) and
# tool-eval-misses.md (every forced call that is not the expected one).
set -euo pipefail
cd "$(dirname "$0")/../.."
LOCALLM=${LOCALLM:-target/release/locallm}
[ "$LOCALLM" = target/release/locallm ] && cargo build --release -q -p locallm-cli
runs=$(mktemp)
trap 'rm -f "$runs"' EXIT
"$LOCALLM" eval-tools --suite evals/tool_use.jsonl --json >"$runs"
python3 scripts/eval/tool_table.py "$runs" evals/tool_use.jsonl "$LOCALLM" book/src/figures
