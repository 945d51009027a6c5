#!/usr/bin/env bash
# Chapters 1-3: figures and numbers of the toys (seconds on a CPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
LOCALLM=${LOCALLM:-"cargo run --release -q -p locallm-cli --"}
mkdir -p target/runs/toys book/src/figures
$LOCALLM train --toys --out target/runs/toys
cp target/runs/toys/line_loss.svg book/src/figures/ch01-line-loss.svg
cp target/runs/toys/mlp_loss.svg book/src/figures/ch01-mlp-loss.svg
cp target/runs/toys/label_noise.svg book/src/figures/ch02-label-noise.svg
