#!/usr/bin/env python3
"""Summarize `locallm lora eval --outputs` files of the chapter-26 experiment:
exact-match accuracy, answers that parse as JSON, and per-field accuracy.

    python3 scripts/lora/summarize.py target/lora-meeting/base_outputs.jsonl \
        target/lora-meeting/lora_outputs.jsonl
"""
import json
import sys

FIELDS = ["who", "day", "time", "room", "topic"]

for path in sys.argv[1:]:
    rows = [json.loads(line) for line in open(path)]
    exact = sum(r["correct"] for r in rows)
    parsed, fields = 0, {f: 0 for f in FIELDS}
    for r in rows:
        expected = json.loads(r["expected"])
        try:
            got = json.loads(r["answer"].strip())
        except ValueError:
            continue
        if not isinstance(got, dict):
            continue
        parsed += 1
        for f in FIELDS:
            fields[f] += got.get(f) == expected[f]
    n = len(rows)
    per_field = ", ".join(f"{f} {fields[f]}/{n}" for f in FIELDS)
    print(f"{path}: exact {exact}/{n}, valid JSON object {parsed}/{n}; {per_field}")
