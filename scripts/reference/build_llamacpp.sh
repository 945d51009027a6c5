#!/usr/bin/env bash
# Build llama.cpp, our reference implementation, from the source vendored in the
# `llama-cpp-python` sdist (so it comes through the ordinary package client).
#
#   scripts/reference/build_llamacpp.sh        # idempotent; prints the bin dir last
#
# Result: ${LOCALLM_REF_DIR:-$HOME/.cache/locallm-ref}/llama.cpp-<pyversion>/build/bin/
# Nothing of llama.cpp is ever copied into this repository.
set -euo pipefail

PY_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"   # pinned for reproducible golden files
REF_DIR="${LOCALLM_REF_DIR:-$HOME/.cache/locallm-ref}"
ROOT="$REF_DIR/llama.cpp-$PY_VERSION"
SRC="$ROOT/src"
BUILD="$ROOT/build"
JOBS="${JOBS:-2}"
TARGETS=(llama-tokenize llama-perplexity llama-bench llama-server llama-simple llama-cli)

export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
log() { echo "[build_llamacpp] $*" >&2; }
mkdir -p "$ROOT"

# 1. Build tools (cmake from the package registry; scikit-build-core so the
#    sdist download does not need to resolve a build environment).
if ! command -v cmake >/dev/null 2>&1; then
    log "installing cmake and scikit-build-core with pip"
    python3 -m pip install --quiet cmake scikit-build-core
fi

# 2. Source: the sdist ships llama.cpp under vendor/llama.cpp.
if [ ! -f "$SRC/CMakeLists.txt" ]; then
    python3 -m pip install --quiet scikit-build-core
    DL="$ROOT/sdist"
    mkdir -p "$DL"
    log "downloading llama-cpp-python==$PY_VERSION sdist"
    python3 -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps --no-build-isolation \
        "llama-cpp-python==$PY_VERSION" -d "$DL"
    tarball="$DL/llama_cpp_python-$PY_VERSION.tar.gz"
    [ -f "$tarball" ] || { log "pip left no $tarball"; exit 1; }
    tmp="$ROOT/unpack.tmp"
    rm -rf "$tmp" && mkdir -p "$tmp"
    tar -xzf "$tarball" -C "$tmp"
    # The sdist has no llama.cpp git metadata, but it carries llama-cpp-python's
    # own .git, whose tree pins the vendored submodule commit.
    git --git-dir="$(echo "$tmp"/*/.git)" ls-tree HEAD vendor/llama.cpp 2>/dev/null \
        | awk '{print $3}' > "$ROOT/LLAMA_CPP_COMMIT" || true
    rm -rf "$SRC"
    mv "$tmp"/*/vendor/llama.cpp "$SRC"
    rm -rf "$tmp"
fi

# 3. Configure. Flags are explicit (not -march=native) so the reference behaves
#    the same on every x86-64 machine with AVX2. AMX is off: this CPU reports
#    AMX but tile instructions raise SIGILL in our sandbox.
CMAKE_FLAGS=(
    -DCMAKE_BUILD_TYPE=Release
    -DBUILD_SHARED_LIBS=OFF
    -DGGML_NATIVE=OFF
    -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON
    -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
    -DGGML_BLAS=OFF -DGGML_OPENMP=ON
    -DLLAMA_CURL=OFF
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
)
printf '%s\n' "${CMAKE_FLAGS[@]}" > "$ROOT/cmake_flags.new"
if [ ! -f "$BUILD/CMakeCache.txt" ] || ! cmp -s "$ROOT/cmake_flags.new" "$ROOT/cmake_flags.txt"; then
    rm -rf "$BUILD"  # flags changed (or first run): configure from scratch
    log "configuring in $BUILD"
    cmake -S "$SRC" -B "$BUILD" "${CMAKE_FLAGS[@]}" >"$ROOT/configure.log" 2>&1 \
        || { tail -n 30 "$ROOT/configure.log" >&2; exit 1; }
    mv "$ROOT/cmake_flags.new" "$ROOT/cmake_flags.txt"
fi
rm -f "$ROOT/cmake_flags.new"

# 4. Build only the tools we compare against.
for t in "${TARGETS[@]}"; do
    if [ ! -x "$BUILD/bin/$t" ]; then
        log "building $t (-j$JOBS)"
        cmake --build "$BUILD" --target "$t" -j "$JOBS" >>"$ROOT/build.log" 2>&1 \
            || { tail -n 30 "$ROOT/build.log" >&2; exit 1; }
    fi
done

# 5. Record what was built (the binaries themselves say "unknown" commit).
commit="$(cat "$ROOT/LLAMA_CPP_COMMIT" 2>/dev/null || echo unknown)"
ggml_version="$(sed -n 's/^-- ggml version: //p' "$ROOT/configure.log" | head -n1)"
cat > "$ROOT/VERSION.json" <<VERS
{
  "llama_cpp_python": "$PY_VERSION",
  "llama_cpp_commit": "$commit",
  "ggml_version": "$ggml_version",
  "cmake_flags": [$(sed 's/.*/"&"/' "$ROOT/cmake_flags.txt" | paste -sd, -)]
}
VERS
log "built llama.cpp $commit (from llama-cpp-python $PY_VERSION, ggml $ggml_version)"
echo "$BUILD/bin"
