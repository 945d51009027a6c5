#!/usr/bin/env python3
"""Golden file for the server extras: llama-server's /tokenize, /detokenize
and /metrics on the default model.

Called by scripts/golden_server_extras.sh (which finds the llama.cpp build).
Writes tests/golden/server/extras.json: for a few texts, what /tokenize
answers with each option (add_special, parse_special, with_pieces), what
/detokenize answers for some id lists, and the names and types of the
metrics /metrics exports. Standard library only.
"""

import argparse
import json
import subprocess
import urllib.request
from pathlib import Path

from golden_llamacpp import free_port, llamacpp_reference, post, sha256_file, wait_healthy, write_json

TEXTS = [
    "Hello world",
    "<|im_start|>user\nHi there<|im_end|>",
    "  two leading spaces,\ta tab, and\n\na blank line",
    "caf\u00e9 \u4e2d\u6587 \U0001f980",
]
OPTIONS = [
    {},
    {"add_special": True},
    {"parse_special": False},
    {"with_pieces": True},
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", type=Path, required=True)
    ap.add_argument("--ref-root", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--golden", type=Path, required=True)
    args = ap.parse_args()

    port = free_port()
    log_path = args.ref_root / "llama-server-extras.log"
    cmd = [str(args.bin / "llama-server"), "-m", str(args.model), "--host", "127.0.0.1",
           "--port", str(port), "-c", "512", "-np", "1", "--no-warmup", "--metrics"]
    with open(log_path, "w") as log:
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(port, server, log_path)
        tokenize = []
        for text in TEXTS:
            for options in OPTIONS:
                body = {"content": text, **options}
                tokenize.append({"request": body, "response": post(port, "/tokenize", body)})
        detokenize = []
        for text in TEXTS:
            ids = post(port, "/tokenize", {"content": text})["tokens"]
            # the whole text, and its last token alone (the crab's last byte:
            # not UTF-8 by itself)
            for tokens in (ids, ids[-1:]):
                body = {"tokens": tokens}
                detokenize.append({"request": body, "response": post(port, "/detokenize", body)})
        # one answer, so that every metric has been touched
        post(port, "/completion", {"prompt": "Hello", "n_predict": 4})
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as r:
            exposition = r.read().decode()
        metrics = {}
        for line in exposition.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                metrics[name] = kind
    finally:
        server.terminate()
        server.wait()

    reference = dict(llamacpp_reference(args.ref_root, args.bin / "llama-server",
                                        "scripts/golden_server_extras.sh"),
                     model={"file": args.model.name, "sha256": sha256_file(args.model)},
                     command=" ".join(["llama-server -m MODEL --host 127.0.0.1 --port PORT"] + cmd[7:]))
    write_json(args.golden / "server" / "extras.json", {
        "check": {
            "concept": "The server extras in llama.cpp's shapes: /tokenize (each option), /detokenize, and the names and types of /metrics",
            "reference": "llama-server of the llama.cpp build (scripts/reference/build_llamacpp.sh)",
            "tolerance": "the same JSON, exactly; every llamacpp: metric we export exists there with the same type",
            "why": "tokenization is exact; metric values depend on timing, so only names and types are compared",
            "test": "crates/serve/tests/extras.rs",
        },
        "reference": reference,
        "tokenize": tokenize,
        "detokenize": detokenize,
        "metrics": metrics,
    })


if __name__ == "__main__":
    main()
