#!/usr/bin/env bash
# Check your exercises: ./check.sh            every exercise, in book order
#                       ./check.sh NAME       one exercise, with its full test output
#                       ./check.sh --solutions  the shipped solutions (for maintainers)
#
# An exercise is solved when `cargo test -p NAME` passes. The list, the order
# and the hints come from info.toml (read with Python's tomllib, Python 3.11+).
set -u
cd "$(dirname "$0")" || exit 2

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

solutions=0
only=""
case "${1:-}" in
    --solutions) solutions=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    "") ;;
    *) only=$1
       echo "$names" | grep -qx "$only" || { echo "no exercise named '$only'; the exercises are:"; echo "$names"; exit 2; } ;;
esac

passed=0
total=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for name in $names; do
    [ -n "$only" ] && [ "$name" != "$only" ] && continue
    total=$((total + 1))
    package=$name
    [ $solutions = 1 ] && package="$name-solution"
    chapter=$(field "$name" chapter)
    printf '%-24s chapter %-4s ' "$name" "$chapter"
    if ! cargo test --offline --quiet -p "$package" --no-run >"$log" 2>&1; then
        echo "does not compile"
        verdict=1
    elif ! cargo test --offline --quiet -p "$package" >"$log" 2>&1; then
        if grep -q "not yet implemented" "$log"; then echo "not done yet (todo!() reached)"; else echo "tests fail"; fi
        verdict=1
    else
        echo "solved"
        passed=$((passed + 1))
        verdict=0
    fi
    if [ $verdict = 1 ]; then
        if [ -n "$only" ]; then
            echo; cat "$log"; echo
        fi
        field "$name" hint | sed 's/^/    hint: /'
        [ -n "$only" ] || echo "    details: ./check.sh $name"
    fi
done
echo
echo "$passed of $total solved"
[ "$passed" = "$total" ]
