#!/usr/bin/env python3
"""Perplexity and KL divergence of every `locallm quantize` TYPE, by llama.cpp.

    bash scripts/reference/build_llamacpp.sh        # once: builds the tools
    python3 scripts/golden_quant_kld.py [--model PATH] [--chunks 8]

For every TYPE: `llama-quantize --allow-requantize MODEL OUT TYPE` (the file
`locallm quantize` reproduces byte for byte, see tests/golden/quant/mixes),
then `llama-perplexity --kl-divergence` of OUT against MODEL (the base, whose
logits are saved once with `--kl-divergence-base`), on texts/gpl-3.txt with
`-c 128 -b 128 --chunks N -t 2`. Writes tests/golden/quant/kld_ctx128.json:
per TYPE the file size, bits/weight, PPL(Q), PPL(base), mean KLD, 99% KLD
and "same top p", as llama-perplexity prints them.

The crates/cli test `quantized_files_score_like_llama_perplexity` checks that
our perplexity of our file for each TYPE is within 1% of llama.cpp's, and our
KL divergence close to its.
"""

import argparse
import json
import re
import tempfile
from pathlib import Path

import gguf

from golden_llamacpp import THREADS, run, sha256_file, write_json

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
DEFAULT_MODEL = Path.home() / ".cache/locallm/models/SmolLM2-135M-Instruct.Q4_1.gguf"
REF = Path.home() / ".cache/locallm-ref/llama.cpp-0.3.36"
TYPES = ["F16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_1", "Q5_0", "Q4_K_M", "Q4_K_S",
         "Q4_1", "Q4_0", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K"]
CTX = 128


def bits_per_weight(path):
    r = gguf.GGUFReader(path)
    n = sum(int(t.n_elements) for t in r.tensors)
    b = sum(int(t.n_bytes) for t in r.tensors)
    return b * 8 / n


def number(label, log):
    m = re.search(re.escape(label) + r"\s*:\s*(-?[0-9.]+)", log)
    if not m:
        raise SystemExit(f"`{label}` not in llama-perplexity output:\n{log[-3000:]}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--bin", type=Path, default=REF / "build" / "bin")
    ap.add_argument("--chunks", type=int, default=8)
    args = ap.parse_args()
    text = GOLDEN / "texts" / "gpl-3.txt"
    version = json.loads((REF / "VERSION.json").read_text())
    common = ["-f", str(text), "-c", str(CTX), "-b", str(CTX), "--chunks", str(args.chunks), "-t", THREADS]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        base_kld = Path(tmp) / "base.kld"
        run([str(args.bin / "llama-perplexity"), "-m", str(args.model), "--kl-divergence-base", str(base_kld)] + common)
        for ty in TYPES:
            out = Path(tmp) / f"{ty}.gguf"
            run([str(args.bin / "llama-quantize"), "--allow-requantize", str(args.model), str(out), ty])
            p = run([str(args.bin / "llama-perplexity"), "-m", str(out), "--kl-divergence-base", str(base_kld),
                     "--kl-divergence"] + common)
            log = p.stdout + p.stderr
            results[ty] = {
                "file_size": out.stat().st_size,
                "bits_per_weight": round(bits_per_weight(out), 4),
                "ppl": number("Mean PPL(Q)", log),
                "ppl_base": number("Mean PPL(base)", log),
                "kld_mean": number("Mean    KLD", log),
                "kld_p99": number("99.0%   KLD", log),
                "same_top_pct": number("Same top p", log),
            }
            print(ty, results[ty])
            out.unlink()
    write_json(GOLDEN / "quant" / "kld_ctx128.json", {
        "reference": {
            "tool": "llama.cpp",
            "llama_cpp_commit": version["llama_cpp_commit"],
            "source": f"vendor/llama.cpp of the llama-cpp-python {version['llama_cpp_python']} sdist",
            "build_flags": version["cmake_flags"],
            "generated_by": "scripts/golden_quant_kld.py",
            "model": {"file": args.model.name, "sha256": sha256_file(args.model)},
            "command": f"llama-perplexity -m TYPE.gguf --kl-divergence-base BASE.kld --kl-divergence "
                       f"-f texts/gpl-3.txt -c {CTX} -b {CTX} --chunks {args.chunks} -t {THREADS}",
            "notes": "PPL and KLD values are printed by llama-perplexity with 4-6 decimals; "
                     "same_top_pct is a percentage",
        },
        "text": "texts/gpl-3.txt",
        "n_ctx": CTX,
        "chunks": args.chunks,
        "types": results,
    })


if __name__ == "__main__":
    main()
