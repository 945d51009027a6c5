#!/usr/bin/env bash
# Regenerates every measured figure the book's prose reads its numbers from
# (`{{measure ...}}` markers, book/measures), in one run on this machine, and
# records the machine in book/src/figures/host.txt:
#   book/src/figures/host.txt               CPU model, flags, cores, memory, versions
#   book/src/figures/bench-table.txt        locallm bench -t 2            (chapters 8, 11)
#   book/src/figures/bench-vs-llamacpp.txt  scripts/bench_vs_llamacpp.sh  (chapter 12)
#   book/src/figures/bench-ttft.txt         prefill lengths vs decode     (chapters 15, 18)
#   book/src/figures/bandwidth.{md,json,svg} locallm bench-sweep          (chapter 11)
#   book/src/figures/quant-kld.{md,json,svg} locallm quant-sweep          (chapters 17, 17.1, 18)
#   book/src/figures/pruning.{md,json,svg}  scripts/prune_sweep.sh        (chapters 17, 17.3)
#   book/src/figures/models-bench.json      scripts/book_models_bench.py  (chapter 21)
#   book/src/figures/batching.{md,json}     scripts/load_batching.py      (chapter 18)
#   book/src/figures/tool-eval{.json,.md,-misses.md} scripts/eval/ch25_tools.sh (chapter 25)
# Run it on a quiet machine: other work on the cores changes every speed
# (the quality figures, KLD, perplexity and tool-call scores, do not depend
# on the load). The
# whole run takes about an hour on two cores, most of it the pruning sweep;
# `--speed-only` skips the two quality sweeps; `--models-only` measures only
# models-bench.json (LOCALLM=target/debug/locallm: without the release build,
# keeping memory and bytes per token, which do not depend on the build).
# Afterwards: `cargo test -p locallm-tests --test book_numbers` checks that
# every marker still finds its number, and `mdbook build book` shows the prose
# with the new numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
FIG=book/src/figures
THREADS="${THREADS:-2}"
SPEED_ONLY=0
[ "${1:-}" = "--speed-only" ] && SPEED_ONLY=1
if [ "${1:-}" = "--models-only" ]; then
    LOCALLM="${LOCALLM:-target/release/locallm}"
    [ "$LOCALLM" = target/release/locallm ] && cargo build --release -q -p locallm-cli
    exec python3 scripts/book_models_bench.py "$LOCALLM" "$THREADS" "$FIG/models-bench.json"
fi

# The machine the numbers belong to: they mean nothing without it.
record_host() {
    echo "measured $(date -u +%Y-%m-%dT%H:%MZ) by scripts/book_bench_figures.sh"
    echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "cores available: $(nproc); threads used: $THREADS"
    echo "memory: $(grep -m1 MemTotal /proc/meminfo | awk '{printf "%.1f GiB", $2 / 1048576}')"
    echo "kernel: $(uname -sr)"
    echo "rustc: $(rustc --version)"
    echo "locallm: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
    echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
}
# (recorded before host.txt is opened: tee truncating it while `git diff`
# runs made a clean tree look changed)
host="$(record_host)"
printf '%s\n' "$host" | tee "$FIG/host.txt"

BIN="$(bash scripts/reference/build_llamacpp.sh | tail -1)"
cargo build --release -q -p locallm-cli
LOCALLM=target/release/locallm
# build_llamacpp.sh builds under .../llama.cpp-<llama-cpp-python version>/build/bin
echo "llama.cpp: from $(basename "$(dirname "$(dirname "$BIN")")")" | tee -a "$FIG/host.txt"

"$LOCALLM" bench -t "$THREADS" | tee "$FIG/bench-table.txt"
bash scripts/bench_vs_llamacpp.sh "" "$THREADS" | tee "$FIG/bench-vs-llamacpp.txt"
"$LOCALLM" bench -p 16,64,256,1024 -n 128 -r 2 -t "$THREADS" | tee "$FIG/bench-ttft.txt"
"$LOCALLM" bench-sweep -t "$THREADS" --out "$FIG" --llama-bench "$BIN/llama-bench"
python3 scripts/book_models_bench.py "$LOCALLM" "$THREADS" "$FIG/models-bench.json"
python3 scripts/load_batching.py --locallm "$LOCALLM" --llama-server "$BIN/llama-server" \
    --threads "$THREADS" --out "$FIG/batching"
if [ "$SPEED_ONLY" = 0 ]; then
    "$LOCALLM" quant-sweep --file tests/golden/texts/gpl-3.txt --ctx 512 --out "$FIG"
    bash scripts/prune_sweep.sh
    LOCALLM="$LOCALLM" bash scripts/eval/ch25_tools.sh
fi
