#!/usr/bin/env bash
# Check your exercises (from anywhere; the order is the book's):
#   ./check.sh               the exercises in order, up to the first one not solved yet
#   ./check.sh --all         every exercise: solved or not (builds all of them)
#   ./check.sh NAME          one exercise, with its full test output
#   ./check.sh --hint NAME   a hint for one exercise (read the chapter first)
#   ./check.sh --solutions   the shipped solutions (for maintainers)
#
# An exercise is solved when `cargo test -p NAME` passes. Each exercise is
# built on its own, so the first ones, which need nothing but the standard
# library, check in seconds; burn is compiled when you reach the first
# exercise that needs it, with the main workspace's features, so that one
# build (yours of the main workspace, or the first exercise's) serves all. The list, the order and the hints come from
# info.toml (read with Python's tomllib, Python 3.11+).
set -u
script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$script")" || exit 2

python3 -c 'import tomllib' 2>/dev/null || { echo "check.sh needs python3 >= 3.11 (tomllib)" >&2; exit 2; }

# field NAME KEY: one field of one exercise from info.toml
field() {
    python3 - "$1" "$2" <<'PY'
import sys, tomllib
name, key = sys.argv[1], sys.argv[2]
with open("info.toml", "rb") as f:
    for ex in tomllib.load(f)["exercise"]:
        if ex["name"] == name:
            print(ex[key].strip())
PY
}

names=$(python3 -c 'import tomllib; print("\n".join(e["name"] for e in tomllib.load(open("info.toml","rb"))["exercise"]))')

known() {
    echo "$names" | grep -qx "$1" || { echo "no exercise named '$1'; the exercises are:"; echo "$names"; exit 2; }
}

mode=next
only=""
case "${1:-}" in
    --solutions) mode=all; solutions=1 ;;
    --all) mode=all ;;
    --hint)
        [ -n "${2:-}" ] || { echo "usage: ./check.sh --hint NAME" >&2; exit 2; }
        known "$2"
        field "$2" hint
        exit 0 ;;
    -h|--help) sed -n '2,13p' "$script"; exit 0 ;;
    -*) echo "unknown option '$1'" >&2; sed -n '2,7p' "$script" >&2; exit 2 ;;
    "") ;;
    *) known "$1"; mode=one; only=$1 ;;
esac
solutions=${solutions:-0}

passed=0
total=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for name in $names; do
    [ $mode = one ] && [ "$name" != "$only" ] && continue
    total=$((total + 1))
    package=$name
    [ $solutions = 1 ] && package="$name-solution"
    chapter=$(field "$name" chapter)
    # An exercise that needs burn is built together with `same-features`:
    # cargo resolves the features of the dependencies for the packages it is
    # given, and without it each such exercise would get its own feature set,
    # and its own build of burn, instead of the main workspace's (see
    # same-features/Cargo.toml).
    packages=(-p "$package")
    if cargo tree --quiet -p "$package" -i burn --depth 0 >/dev/null 2>&1; then
        packages+=(-p same-features)
    fi
    printf '%-24s chapter %-4s ' "$name" "$chapter"
    if ! cargo test --quiet "${packages[@]}" --no-run >"$log" 2>&1; then
        echo "does not compile"
        verdict=1
    elif ! cargo test --quiet "${packages[@]}" >"$log" 2>&1; then
        if grep -q "not yet implemented" "$log"; then echo "not done yet (todo!() reached)"; else echo "tests fail"; fi
        verdict=1
    else
        echo "solved"
        passed=$((passed + 1))
        verdict=0
    fi
    if [ $verdict = 1 ]; then
        case $mode in
            one) echo; cat "$log"; echo; echo "stuck? ./check.sh --hint $name" ;;
            next)
                echo
                echo "next: $name (chapter $chapter): edit exercises/$name/src/lib.rs"
                echo "      ./check.sh $name          its test output"
                echo "      ./check.sh --hint $name   a hint, if the chapter did not get you there"
                echo "$passed solved so far; ./check.sh --all lists every exercise"
                exit 1 ;;
        esac
    fi
done
echo
echo "$passed of $total solved"
[ "$passed" = "$total" ]
