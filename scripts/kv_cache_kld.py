#!/usr/bin/env python3
"""What a quantized KV cache costs: KL divergence from the f32 cache, ours and llama.cpp's.

    bash scripts/reference/build_llamacpp.sh        # once: builds the tools
    cargo build --release -p locallm-cli
    python3 scripts/kv_cache_kld.py [--model PATH] [--chunks N]

The weights stay the same (the default Q4_1 model); only the storage of the
cached keys and values changes. For each cache type (f16, q8_0, q4_0; the
block types with and without the Hadamard rotation):

- llama.cpp: `llama-perplexity -ctk T -ctv T -fa on --kl-divergence` against
  the logits of an f32-cache run (`-ctk f32 -ctv f32 -fa on`), saved once
  with `--kl-divergence-base`; `LLAMA_ATTN_ROT_DISABLE=1` for the unrotated rows.
  A quantized V cache needs flash attention in llama.cpp, hence `-fa on`.
- locallm: `locallm perplexity --model M --kl-divergence-base M
  --cache-type-k T --cache-type-v T` (`--no-cache-rotation` for the unrotated
  rows): the base run has no cache, the model run a fresh cache per chunk.

Both on texts/gpl-3.txt with a context of 512 (llama-perplexity's protocol).
Writes llama.cpp's numbers to tests/golden/kv_cache/kld_ctx512.json (the
reference) and ours to book/src/figures/kv-cache-kld.json (a measurement);
crates/infer/tests/kv_cache_golden.rs compares the two. Prints the table of
book chapter 18.
"""

import argparse
import json
import os
import tempfile
from pathlib import Path

from golden_llamacpp import THREADS, run, sha256_file, write_json
from golden_quant_kld import number

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
FIGURE = ROOT / "book" / "src" / "figures" / "kv-cache-kld.json"
DEFAULT_MODEL = Path.home() / ".cache/locallm/models/SmolLM2-135M-Instruct.Q4_1.gguf"
REF = Path.home() / ".cache/locallm-ref/llama.cpp-0.3.36"
LOCALLM = ROOT / "target" / "release" / "locallm"
CTX = 512
# (name, cache type, rotated)
ROWS = [("f16", "f16", True), ("q8_0", "q8_0", True), ("q8_0 (not rotated)", "q8_0", False),
        ("q4_0", "q4_0", True), ("q4_0 (not rotated)", "q4_0", False)]
# SmolLM2-135M: 30 layers x 3 KV heads x 64 numbers per row, keys and values
ROW_BYTES = {"f32": 64 * 4, "f16": 64 * 2, "q8_0": 2 * 34, "q4_0": 2 * 18}


def bytes_per_token(ty):
    return 30 * 2 * 3 * ROW_BYTES[ty]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--bin", type=Path, default=REF / "build" / "bin")
    ap.add_argument("--chunks", type=int, default=None, help="score only the first N chunks")
    args = ap.parse_args()
    text = GOLDEN / "texts" / "gpl-3.txt"
    version = json.loads((REF / "VERSION.json").read_text())
    chunks = ["--chunks", str(args.chunks)] if args.chunks else []
    common = ["-f", str(text), "-c", str(CTX), "-b", str(CTX), "-t", THREADS, "-fa", "on"] + chunks

    llama, ours = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.kld"
        run([str(args.bin / "llama-perplexity"), "-m", str(args.model), "-ctk", "f32", "-ctv", "f32",
             "--kl-divergence-base", str(base)] + common)
        for name, ty, rotated in ROWS:
            env = dict(os.environ)
            if not rotated:
                env["LLAMA_ATTN_ROT_DISABLE"] = "1"
            p = run([str(args.bin / "llama-perplexity"), "-m", str(args.model), "-ctk", ty, "-ctv", ty,
                     "--kl-divergence-base", str(base), "--kl-divergence"] + common, env=env)
            log = p.stdout + p.stderr
            llama[name] = {
                "ppl": number("Mean PPL(Q)", log),
                "ppl_base": number("Mean PPL(base)", log),
                "delta_ppl": number("Mean PPL(Q)-PPL(base)", log),
                "kld_mean": number("Mean    KLD", log),
                "same_top_pct": number("Same top p", log),
            }
            print("llama.cpp", name, llama[name], flush=True)

    for name, ty, rotated in ROWS:
        cmd = [str(LOCALLM), "perplexity", "--model", str(args.model), "--kl-divergence-base", str(args.model),
               "--file", str(text), "--ctx", str(CTX), "--cache-type-k", ty, "--cache-type-v", ty, "--json"]
        if args.chunks:
            cmd += ["--chunks", str(args.chunks)]
        if not rotated:
            cmd.append("--no-cache-rotation")
        row = json.loads(run(cmd).stdout)[0]
        ours[name] = {k: row[k] for k in ["ppl", "ppl_base", "delta_ppl", "kld_mean", "same_top_pct"]}
        print("locallm", name, ours[name], flush=True)

    model = {"file": args.model.name, "sha256": sha256_file(args.model)}
    write_json(GOLDEN / "kv_cache" / f"kld_ctx{CTX}.json", {
        "reference": {
            "tool": "llama.cpp",
            "llama_cpp_commit": version["llama_cpp_commit"],
            "source": f"vendor/llama.cpp of the llama-cpp-python {version['llama_cpp_python']} sdist",
            "build_flags": version["cmake_flags"],
            "generated_by": "scripts/kv_cache_kld.py",
            "model": model,
            "command": f"llama-perplexity -m MODEL -ctk T -ctv T --kl-divergence-base BASE.kld --kl-divergence "
                       f"-f texts/gpl-3.txt -c {CTX} -b {CTX} -t {THREADS} -fa on"
                       f" (base: -ctk f32 -ctv f32; unrotated: LLAMA_ATTN_ROT_DISABLE=1)",
        },
        "text": "texts/gpl-3.txt",
        "n_ctx": CTX,
        "chunks": args.chunks,
        "llama_cpp": llama,
    })
    write_json(FIGURE, {
        "measured": {
            "tool": "locallm",
            "generated_by": "scripts/kv_cache_kld.py",
            "model": model,
            "command": f"locallm perplexity --model MODEL --kl-divergence-base MODEL --file texts/gpl-3.txt "
                       f"--ctx {CTX} --cache-type-k T --cache-type-v T --json (unrotated: --no-cache-rotation)",
        },
        "text": "texts/gpl-3.txt",
        "n_ctx": CTX,
        "chunks": args.chunks,
        "locallm": ours,
    })

    print(f"\n| cache K/V | bytes/token | KV at 2k | KV at 8k | KLD | ΔPPL | same top % "
          f"| llama.cpp KLD | llama.cpp ΔPPL | llama.cpp same top % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    mib = lambda n: f"{n / 2**20:.1f} MiB"
    b = bytes_per_token("f32")
    print(f"| f32 | {b:,} | {mib(2048 * b)} | {mib(8192 * b)} | 0 | 0 | 100 | 0 | 0 | 100 |")
    for name, ty, _ in ROWS:
        b, o, l = bytes_per_token(ty), ours[name], llama[name]
        print(f"| {name} | {b:,} | {mib(2048 * b)} | {mib(8192 * b)} | {o['kld_mean']:.6f} | "
              f"{o['delta_ppl']:+.4f} | {o['same_top_pct']:.2f} | {l['kld_mean']:.6f} | "
              f"{l['delta_ppl']:+.4f} | {l['same_top_pct']:.2f} |")


if __name__ == "__main__":
    main()
