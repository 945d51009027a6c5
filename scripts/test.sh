#!/usr/bin/env bash
# The README's test command. On a fresh machine it first installs what the
# tests need besides Rust, then runs them:
#
#   bash scripts/test.sh                 # set up, then cargo test --workspace
#   bash scripts/test.sh --setup         # set up only
#   bash scripts/test.sh -p locallm-cli  # set up, then cargo test -p locallm-cli
#
# What it sets up (each step is skipped when already done):
# 1. a project-local virtualenv, .venv/, with the Python clients the tests
#    drive the server with (openai, anthropic, ollama, selenium), the Chroma
#    server (chromadb) and the schema tools (jsonschema, pydantic). Tests
#    find it by themselves (tests/src/python.rs); nothing is installed into
#    the system's Python.
# 2. Debian's chromium and chromium-driver (the chat page's browser test)
#    and curl, with apt-get (as root, or through sudo).
# Models are fetched by the tests themselves on first use, into
# ~/.cache/locallm (or $LOCALLM_HOME), with that venv's pip.
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep equal to PACKAGES in tests/src/python.rs (tests/tests/test_setup.rs checks).
PACKAGES=(openai anthropic selenium chromadb ollama jsonschema pydantic pyyaml prometheus_client)
VENV=.venv

say() { printf '== %s\n' "$*" >&2; }

setup_python() {
    if [ ! -x "$VENV/bin/python3" ]; then
        say "creating the virtualenv $VENV"
        if ! python3 -m venv "$VENV"; then
            rm -rf "$VENV"
            # Debian's python3 needs python3-venv for this; where apt can
            # install it, do, else say so and stop
            if command -v apt-get >/dev/null && [ "$(id -u)" -eq 0 ]; then
                say "installing python3-venv with apt-get"
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null 2>&1 ||
                    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; }
                python3 -m venv "$VENV" || rm -rf "$VENV"
            fi
            [ -x "$VENV/bin/python3" ] || {
                echo "error: python3 cannot create a virtualenv; on Debian/Ubuntu:" \
                    "apt-get install python3-venv" >&2
                exit 1
            }
        fi
    fi
    local imports
    # the import names of PACKAGES (pyyaml is imported as yaml)
    imports=$(IFS=,; echo "${PACKAGES[*]}" | sed 's/pyyaml/yaml/')
    if ! "$VENV/bin/python3" -c "import $imports" 2>/dev/null; then
        say "installing ${PACKAGES[*]} into $VENV"
        "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}"
    fi
}

setup_browser() {
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && command -v curl >/dev/null; then
        return
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null; then
            sudo=(sudo)
        else
            echo "error: the browser test needs chromium, chromium-driver and curl;" \
                "install them as root: apt-get install chromium chromium-driver curl" >&2
            exit 1
        fi
    fi
    if ! command -v apt-get >/dev/null; then
        echo "error: no apt-get here; install chromium, its chromedriver (at" \
            "/usr/bin/chromium and /usr/bin/chromedriver) and curl, then rerun" >&2
        exit 1
    fi
    say "installing chromium, chromium-driver and curl with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get install -y -q chromium chromium-driver curl >/dev/null 2>&1 ||
        { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q chromium chromium-driver curl; }
}

setup_python
setup_browser
if [ "${1:-}" = "--setup" ]; then
    say "set up; run the tests with: bash scripts/test.sh"
    exit 0
fi
# the venv first on PATH: the model fetch's `python3 -m pip` and every
# script a test starts use it
export PATH="$PWD/$VENV/bin:$PATH"
# --no-fail-fast: a failing test binary does not hide the ones after it, so
# one run reports every failure
if [ $# -eq 0 ]; then
    set -- --workspace --no-fail-fast
fi
say "cargo test $*"
exec cargo test "$@"
