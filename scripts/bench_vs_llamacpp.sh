#!/usr/bin/env bash
# Our engine against llama.cpp on the same GGUF file, the same threads, in one run.
#
#   scripts/bench_vs_llamacpp.sh [MODEL.gguf] [THREADS] [REPS]
#   (or: just bench-vs-llamacpp)
#
# Builds llama.cpp from the llama-cpp-python sdist (cached: see
# scripts/reference/build_llamacpp.sh), builds `locallm` in release, runs
# `llama-bench -p 512 -n 128` and `locallm bench -p 512 -n 128 --json`, each
# twice alternately so that neither always runs on a warmer machine, and prints
# one table with the ratios. A benchmark, not a test: nothing asserts a speed.
# Peak memory of a 512-token generation with a 2k context is measured with
# /usr/bin/time (GNU time, Debian package `time`) when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS="${2:-2}"
REPS="${3:-3}"
MODEL="${1:-}"
if [ -z "$MODEL" ]; then
    cargo run --release -q -p locallm-cli -- pull >/dev/null
    MODEL="${LOCALLM_HOME:-$HOME/.cache/locallm}/models/SmolLM2-135M-Instruct.Q4_1.gguf"
fi
BIN="$(bash scripts/reference/build_llamacpp.sh | tail -1)"
cargo build --release -q -p locallm-cli
LOCALLM=target/release/locallm
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for round in 1 2; do
    echo "round $round: llama-bench" >&2
    "$BIN/llama-bench" -m "$MODEL" -p 512 -n 128 -t "$THREADS" -r "$REPS" -o json >"$out/llama-$round.json"
    echo "round $round: locallm bench" >&2
    "$LOCALLM" bench --model "$MODEL" -p 512 -n 128 -t "$THREADS" -r "$REPS" --json >"$out/ours-$round.json"
done

# llama.cpp's host info: the CPU features its build uses, from the
# system_info line it logs at start (llama-perplexity on a one-line text
# stops right after loading, having printed it)
printf 'hello\n' >"$out/one.txt"
"$BIN/llama-perplexity" -m "$MODEL" -t "$THREADS" -f "$out/one.txt" </dev/null >"$out/llama-info.txt" 2>&1 || true
llama_flags="$(sed -n 's/.*system_info: .*| CPU : //p' "$out/llama-info.txt" | head -1)"

rss=""
if [ -x /usr/bin/time ]; then
    echo "peak RSS: 512 tokens with a 2048-token context" >&2
    /usr/bin/time -v "$LOCALLM" generate --model "$MODEL" --ctx 2048 --max-tokens 512 --ignore-eos \
        --temperature 0 --raw --prompt "Once upon a time" >/dev/null 2>"$out/time.txt" || true
    rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$out/time.txt")
fi

python3 - "$out" "$MODEL" "$THREADS" "$rss" "$llama_flags" <<'PY'
import json, os, statistics, sys
out, model, threads, rss, llama_flags = sys.argv[1:6]

def llama(round_):
    rows = json.load(open(f"{out}/llama-{round_}.json"))
    get = lambda p, n: next(r["avg_ts"] for r in rows if r["n_prompt"] == p and r["n_gen"] == n)
    return get(512, 0), get(0, 128)

def ours(round_):
    r = json.load(open(f"{out}/ours-{round_}.json"))
    return r["pp_tok_s"], r["tg_tok_s"], r

l = [llama(i) for i in (1, 2)]
o = [ours(i) for i in (1, 2)]
lpp, ltg = statistics.mean(x[0] for x in l), statistics.mean(x[1] for x in l)
opp, otg = statistics.mean(x[0] for x in o), statistics.mean(x[1] for x in o)
meta = o[-1][2]
print(f"model {os.path.basename(model)} ({os.path.getsize(model):,} bytes), {threads} threads, "
      f"2 rounds x {meta['results'][0]['samples_ts'].__len__()} reps, our kernels: {meta['kernels']}")
# the host, as each engine sees it: a ratio means little without it
host_flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
isa = [f for f in host_flags if f.startswith(("avx", "fma", "f16c", "amx"))]
print(f"host CPU: {meta.get('cpu_model')} ({os.cpu_count()} logical cores); ISA flags: {' '.join(isa)}")
print(f"locallm uses: {' '.join(meta.get('cpu_flags_used') or []) or 'portable kernels'}")
print(f"llama.cpp ({json.load(open(f'{out}/llama-1.json'))[0].get('cpu_info')}) built with: "
      f"{llama_flags.strip() or 'unknown (no system_info line)'}")
print()
print("| test  | llama.cpp t/s | locallm t/s | ratio |")
print("| ----- | ------------: | ----------: | ----: |")
print(f"| pp512 | {lpp:13.1f} | {opp:11.1f} | {opp / lpp:5.2f} |")
print(f"| tg128 | {ltg:13.1f} | {otg:11.1f} | {otg / ltg:5.2f} |")
print()
ceiling = meta["ceiling_tok_s"]
print(f"bandwidth {meta['bandwidth_gb_s']:.1f} GB/s / {meta['bytes_per_token'] / 1e6:.1f} MB per token "
      f"= ceiling {ceiling:.0f} tok/s: llama.cpp at {ltg / ceiling:.0%}, locallm at {otg / ceiling:.0%}")
if rss:
    kib = int(rss)
    kv = 2048 * meta["results"][0]["kv_bytes_per_token"]
    budget = 1.3 * (os.path.getsize(model) + kv)
    print(f"peak RSS generating 512 tokens, 2k context: {kib / 1024:.0f} MiB; "
          f"1.3 x (file + KV cache) = {budget / 2**20:.0f} MiB -> {'within' if kib * 1024 <= budget else 'OVER'}")
PY
