#!/usr/bin/env python3
"""book/src/figures/models-bench.json: `locallm bench --json` of the registry
models (SmolLM2-135M-Instruct Q4_1, Gemma 3 270M Q4_K_M) with the host it ran
on and how much other work shared its cores. Called by scripts/book_bench_figures.sh.

usage: book_models_bench.py LOCALLM THREADS OUT

A debug binary's speeds measure the debug build, not the engine: they are left
out (null), and the note says so. Bytes per token (the weights the engine
reads per decoded token) and peak resident memory do not depend on the build
or on the load, and are always kept. A release run during which other
programs kept more than half a core busy (scripts/host_load.py) is marked
`loaded`: its speeds are lower bounds.
"""
import json
import os
import platform
import subprocess
import sys
import time

from host_load import OtherWork

MODELS = ["smollm2-135m-instruct-q4_1", "gemma3-270m"]
BENCH = ["-p", "64", "-n", "32", "-r", "2"]
KEEP = ["model_filename", "model_bytes", "model_n_params", "weights", "kernels", "threads",
        "bytes_per_token", "peak_rss_bytes"]
SPEEDS = ["pp_tok_s", "tg_tok_s", "bandwidth_gb_s", "ceiling_tok_s", "ceiling_fraction"]


def main():
    binary, threads, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    release = "/release/" in binary
    models = []
    with OtherWork() as other:
        for name in MODELS:
            cmd = [binary, "bench", "--json", "-m", name, *BENCH, "-t", str(threads)]
            stdout = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            report = json.loads(stdout)
            row = {"name": name, **{k: report[k] for k in KEEP}}
            first = report["results"][0] if report["results"] else {}
            row["kv_bytes_per_token"] = first.get("kv_bytes_per_token")
            row.update({k: report[k] if release else None for k in SPEEDS})
            models.append(row)
    cores = os.cpu_count()
    loaded = other.loaded
    cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
               if line.startswith("model name"))
    if release:
        note = "release build" + ("; the machine was loaded: speeds are lower bounds" if loaded else "")
    else:
        note = ("debug build: speeds left out (they would measure the debug build, not the engine); "
                "bytes per token and peak memory do not depend on the build or the load")
    doc = {
        "tool": "locallm bench --json " + " ".join(BENCH) + f" -t {threads}",
        "script": "scripts/book_models_bench.py",
        "measured": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
        "locallm": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                  capture_output=True, text=True).stdout.strip(),
        "build": "release" if release else "debug",
        "host": {"cpu": cpu, "cores": cores, "kernel": platform.release(),
                 "other_work_cores": other.cores},
        "loaded": loaded,
        "note": note,
        "models": models,
    }
    with open(out, "w") as f:
        f.write(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
