#!/usr/bin/env bash
# Chapter 17.2: the same student, same tokens and seed, (a) on the text alone
# and (b) distilled from SmolLM2-135M at T = 2, alpha = 0.5.
set -euo pipefail
cd "$(dirname "$0")/../.."
LOCALLM=${LOCALLM:-"cargo run --release -q -p locallm-cli --"}
DATA="--data tests/golden/texts/gpl-3.txt --data tests/golden/texts/gfdl-1.3.txt"
rm -rf target/runs/student-hard target/runs/student-kd && mkdir -p target/runs book/src/figures
$LOCALLM distill --student-config scripts/train/small.toml $DATA --out target/runs/student-hard --alpha 0
$LOCALLM distill --student-config scripts/train/small.toml $DATA --out target/runs/student-kd --alpha 0.5 --temperature 2
cp target/runs/student-hard/loss.svg book/src/figures/ch17-2-hard-loss.svg
cp target/runs/student-kd/loss.svg book/src/figures/ch17-2-kd-loss.svg
python3 - <<'PY'
import json
for run in ["student-hard", "student-kd"]:
    d = json.load(open(f"target/runs/{run}/distill_log.json"))
    print(f"{run:13} alpha={d['alpha']:<4} ppl={d['student_held_out_perplexity']:8.2f} "
          f"KL={d['kl_to_teacher']:.4f} teacher ppl={d['teacher_held_out_perplexity']:.2f} "
          f"train {d['train_seconds_this_run']:.0f} s, wall {d['wall_seconds']:.0f} s")
PY
