#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), two at a time, from
# its committed seeds; stops at the first finding. Usage: fuzz/run.sh [SECONDS]
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); the stable
# toolchain builds it with RUSTC_BOOTSTRAP=1 (cargo-fuzz uses -Z flags).
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-60}"
export RUSTC_BOOTSTRAP=1
# no allocation above 2 GiB, no input slower than 10 s
FLAGS=(-max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1)
TARGETS=(gguf_read safetensors_header tokenizer_encode tokenizer_decode chat_template quantize)
cargo fuzz build
mkdir -p target/logs
run() {
    local t=$1
    # a scratch copy of the seeds: what the run finds stays out of git
    local work="target/corpus/$t"
    mkdir -p "$work"
    local rc=0
    cargo fuzz run "$t" "$work" "corpus/$t" -- "${FLAGS[@]}" >"target/logs/$t.log" 2>&1 || rc=$?
    printf '%-20s %s\n' "$t" "$(grep -E '^stat::number_of_executed_units' "target/logs/$t.log" | awk '{print $2}') executions, exit $rc"
    return $rc
}
status=0
for ((i = 0; i < ${#TARGETS[@]}; i += 2)); do
    run "${TARGETS[i]}" & a=$!
    run "${TARGETS[i + 1]}" & b=$!
    wait $a || status=1
    wait $b || status=1
done
if [ $status -ne 0 ]; then
    echo "a target failed: see fuzz/target/logs/ and fuzz/artifacts/" >&2
    tail -40 target/logs/*.log >&2
fi
exit $status
