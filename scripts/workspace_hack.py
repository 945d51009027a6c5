#!/usr/bin/env python3
"""Writes crates/workspace-hack/Cargo.toml: the features the whole workspace
turns on, for every dependency whose features would otherwise differ when a
command selects one package (`cargo test -p NAME`). See that file's header.

    python3 scripts/workspace_hack.py          # rewrite the lists
    python3 scripts/workspace_hack.py --check  # exit 1 if a selection differs

How: `cargo tree -f "{p} [{f}]"` prints each package with the features a
selection resolves. For each member, the (package, features) pairs that the
workspace-wide resolution does not have are the ones that would compile a
second time; the hack asks for the workspace's features of those packages.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HACK = ROOT / "crates/workspace-hack/Cargo.toml"
# Proc-macro and build-script dependencies (the host side) resolve features
# separately from normal ones; these are the host-only crates whose features
# differ between selections.
HOST_ONLY = {"syn"}

HEADER = """\
# Not code: this crate exists for its dependency list. Cargo compiles a
# dependency once per distinct feature set, and the features it turns on
# depend on which packages a command selects: `cargo test -p locallm-quant`
# resolved fewer features of serde_json, regex, clap, ... than `cargo test
# --workspace`, so burn and everything above them compiled a second time
# (~10 CPU-minutes for each package a reader tests). Every member depends on
# this crate, which asks for the features the whole workspace uses, so every
# selection compiles the same artifacts. (The "workspace-hack" pattern of
# rustc and cargo-hakari; cargo's `resolver.feature-unification` is not
# stable yet.) Written by `python3 scripts/workspace_hack.py`; the test
# `tests/tests/workspace_hack.rs` fails when a selection drifts.
[package]
name = "locallm-workspace-hack"
version.workspace = true
edition.workspace = true
license.workspace = true
publish = false
"""


def tree(*selection):
    out = subprocess.run(
        ["cargo", "tree", *selection, "-e", "normal,build,dev", "-f", "{p} [{f}]", "--prefix", "none"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    pairs = set()
    for line in out.splitlines():
        m = re.match(r"(\S+) v(\S+)(?: \(.*?\))? \[(.*?)\]", line)
        if m and not m.group(1).startswith("locallm") and m.group(1) != "workspace-hack":
            pairs.add((m.group(1), m.group(2), tuple(f for f in m.group(3).split(",") if f)))
    return pairs


def members():
    meta = json.loads(subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1"],
                                     cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    return [p["name"] for p in meta["packages"] if p["name"] != "locallm-workspace-hack"]


def drift():
    """(package, version) pairs some selection resolves differently."""
    ws = tree("--workspace")
    out = set()
    for m in members():
        out |= {(n, v) for n, v, _ in tree("-p", m) - ws}
    return ws, out


def entry(key, name, version, features):
    parts = [f'package = "{name}"'] if key != name else []
    parts.append(f'version = "{version}"')
    if "default" not in features:
        parts.append("default-features = false")
    rest = [f for f in features if f != "default"]
    if rest:
        parts.append("features = [" + ", ".join(f'"{f}"' for f in rest) + "]")
    return f"{key} = {{ " + ", ".join(parts) + " }"


def main():
    ws, differ = drift()
    if "--check" in sys.argv:
        for n, v in sorted(differ):
            print(f"{n} {v}: a package selected alone resolves other features", file=sys.stderr)
        sys.exit(1 if differ else 0)
    # keep what the hack already lists (it shapes the resolution we measured)
    listed = set(re.findall(r'^(\S+) = \{ (?:package = "(\S+)", )?version = "([^"]+)"',
                            HACK.read_text() if HACK.exists() else "", re.M))
    wanted = differ | {(pkg or key, ver) for key, pkg, ver in listed}
    features = {(n, v): f for n, v, f in ws}
    normal, host = [], []
    for name, version in sorted(wanted):
        if (name, version) not in features:
            continue  # no longer in the graph
        same_name = [v for n, v in wanted if n == name]
        major, minor = version.split(".")[:2]
        series = major if major != "0" else f"0-{minor}"  # semver's compatible series
        key = name if len(same_name) == 1 else f"{name}-{series}"
        line = entry(key, name, version, features[(name, version)])
        (host if name in HOST_ONLY else normal).append(line)
    text = HEADER + "\n[dependencies]\n" + "\n".join(normal) + "\n"
    if host:
        text += ("\n# proc-macros and build scripts resolve features on their own (the\n"
                 "# host side); a build script makes cargo use this section\n"
                 "[build-dependencies]\n" + "\n".join(host) + "\n")
    HACK.write_text(text)
    print(f"{HACK.relative_to(ROOT)}: {len(normal)} dependencies, {len(host)} build-dependencies")


if __name__ == "__main__":
    main()
