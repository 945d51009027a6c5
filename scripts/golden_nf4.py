#!/usr/bin/env python3
"""Golden NF4 codes from bitsandbytes, for crates/quant/src/nf4.rs.

    python3 -m venv /tmp/bnbvenv && /tmp/bnbvenv/bin/pip install torch bitsandbytes
    /tmp/bnbvenv/bin/python scripts/golden_nf4.py

Runs on the CPU. Writes tests/golden/nf4/quantize_4bit.json: for a few inputs
(normal samples of lengths that end in a partial block, heavy tails, zeros,
exact level values), the inputs themselves (float32 values, exact in JSON),
then what `bitsandbytes.functional.quantize_4bit(quant_type="nf4",
blocksize=64)` returns: the packed codes (hex) and the f32 absmax per block,
without double quantization; the f32 bits of `dequantize_4bit` of that (hex);
and with `compress_statistics=True` the offset (mean of the absmax values).
bitsandbytes' second-level 8-bit code map differs from ours on purpose (see
nf4.rs), so only the offset of the double quantization is recorded.
"""

import json
import pathlib

import bitsandbytes
import bitsandbytes.functional as F
import torch
from golden_check import keep_check

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/golden/nf4/quantize_4bit.json"


def case(name, x):
    x = x.to(torch.float32).contiguous()
    packed, state = F.quantize_4bit(x, blocksize=64, quant_type="nf4")
    deq = F.dequantize_4bit(packed, state, blocksize=64, quant_type="nf4")
    _, state2 = F.quantize_4bit(x, blocksize=64, quant_type="nf4", compress_statistics=True)
    return {
        "name": name,
        "input": [float(v) for v in x.tolist()],
        "codes_hex": bytes(packed.reshape(-1).tolist()).hex(),
        "absmax": [float(v) for v in state.absmax.tolist()],
        "dequant_f32_hex": deq.reshape(-1).numpy().astype("<f4").tobytes().hex(),
        "double_quant_offset": float(state2.offset),
    }


def main():
    g = torch.Generator().manual_seed(0)
    levels = F.get_4bit_type("nf4", device="cpu")
    cases = [
        case("normal_4096", torch.randn(4096, generator=g) * 0.02),
        case("normal_2597_partial_block", torch.randn(2597, generator=g)),
        case("student_t_1024", torch.distributions.StudentT(2.0).sample((1024,)) * 0.01),
        case("zeros_and_one_value_128", torch.cat([torch.zeros(127), torch.tensor([3.0])])),
        case("levels_times_3_odd_33", torch.cat([levels, levels, levels[:1]]) * 3.0),
    ]
    doc = {
        "generator": "scripts/golden_nf4.py",
        "bitsandbytes": bitsandbytes.__version__,
        "torch": torch.__version__,
        "levels": [float(v) for v in levels.tolist()],
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(keep_check(OUT, doc), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
