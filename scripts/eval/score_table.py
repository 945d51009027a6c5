#!/usr/bin/env python3
"""Chapter 19's tables: the per-group scores of `locallm eval --json` runs.

usage: score_table.py RUNS.json OUT.md [--mode]

RUNS.json is eval's list of runs, or an object whose "runs" holds it. With
--mode each column also says how the model was prompted (chat or raw).
"""
import json
import os
import sys

NAMES = {
    "SmolLM2-135M-Instruct.Q4_1.gguf": "Q4_1 (as shipped)",
    "q8_0.gguf": "Q8_0 (requantized)",
    "q2_k.gguf": "Q2_K",
    "magnitude-30.gguf": "magnitude 30%",
    "wanda-50.gguf": "Wanda 50%",
    "gemma-3-270m-Q4_K_M.gguf": "Gemma 3 270M Q4_K_M",
}
# with --mode the columns compare models, not variants of one
MODEL_NAMES = {"SmolLM2-135M-Instruct.Q4_1.gguf": "SmolLM2 135M Instruct Q4_1"}
GROUPS = ["arith", "capital", "format", "json"]


def main():
    runs_file, out = sys.argv[1], sys.argv[2]
    with_mode = "--mode" in sys.argv[3:]
    runs = json.load(open(runs_file))
    if isinstance(runs, dict):
        runs = runs["runs"]
    cols = []
    for r in runs:
        base = os.path.basename(r["model"])
        name = (with_mode and MODEL_NAMES.get(base)) or NAMES.get(base, base)
        cols.append(f'{name}, {r["mode"]}' if with_mode else name)
    lines = ["| task group | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for g in GROUPS + ["all"]:
        row = []
        for r in runs:
            items = [i for i in r["items"] if g == "all" or i["id"].startswith(g + "-")]
            row.append(f'{sum(i["correct"] for i in items)}/{len(items)}')
        label = "**all**" if g == "all" else g
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
