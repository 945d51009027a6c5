#!/usr/bin/env bash
# Build one of our small C++ programs (scripts/reference/NAME.cpp) against the
# static libraries of the reference llama.cpp build
# (scripts/reference/build_llamacpp.sh); rebuilt when the source is newer.
#
#   scripts/reference/program.sh NAME      # prints the binary's path last
#
# -I src/src gives the internal headers (llama-grammar.h), as llama.cpp's
# own tests use them.
set -euo pipefail

NAME="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
BIN="$("$HERE/build_llamacpp.sh" | tail -n1)"
REF_ROOT="$(dirname "$(dirname "$BIN")")"   # .../llama.cpp-<version>
B="$REF_ROOT/build"
OUT="$B/bin/locallm-$NAME"
SRC="$HERE/$NAME.cpp"
if [ ! -x "$OUT" ] || [ "$SRC" -nt "$OUT" ] || [ "$HERE/common.h" -nt "$OUT" ]; then
    c++ -O2 -std=c++17 -I"$REF_ROOT/src/include" -I"$REF_ROOT/src/ggml/include" -I"$REF_ROOT/src/src" "$SRC" \
        "$B/src/libllama.a" "$B/ggml/src/libggml.a" "$B/ggml/src/libggml-cpu.a" "$B/ggml/src/libggml-base.a" \
        -fopenmp -lpthread -ldl -o "$OUT"
fi
echo "$OUT"
