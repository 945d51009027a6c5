#!/usr/bin/env python3
"""Per-tensor type choices of llama.cpp's `llama-quantize`, for `locallm quantize`.

    pip install gguf==0.19.0 numpy
    python3 scripts/golden_quant_mixes.py [--model PATH] [--llama-quantize PATH]

For every TYPE that `locallm quantize` accepts, runs the real
`llama-quantize --allow-requantize MODEL OUT TYPE` (built from the
llama-cpp-python sdist by scripts/reference/build_llamacpp.sh; the target is
`cmake --build build --target llama-quantize`) on the default model, reads OUT
with gguf-py and writes tests/golden/quant/mixes/TYPE.json:

  file_type        general.file_type of OUT
  file_sha256      sha256 of the whole OUT file
  kv_keys          OUT's metadata keys, in file order
  tensors          for each tensor of OUT in file order: name, type, shape,
                   offset and sha256 of its bytes

so that tests can check our type choice for every tensor (crates/quant
tests/mixes.rs) and, for some TYPEs, our whole output file.
"""

import argparse
import hashlib
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import gguf
import numpy as np
from golden_check import keep_check

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "golden" / "quant" / "mixes"
DEFAULT_MODEL = Path.home() / ".cache/locallm/models/SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_CPP_PYTHON_VERSION = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
REF = Path(os.environ.get("LOCALLM_REF_DIR", Path.home() / ".cache/locallm-ref")) / f"llama.cpp-{LLAMA_CPP_PYTHON_VERSION}"

TYPES = ["Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "Q3_K_M", "Q3_K_L",
         "Q3_K_S", "Q2_K", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "F16"]


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--llama-quantize", type=Path, default=REF / "build/bin/llama-quantize")
    ap.add_argument("--types", nargs="*", default=TYPES)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    commit_file = REF / "LLAMA_CPP_COMMIT"
    commit = commit_file.read_text().strip() if commit_file.exists() else "unknown"

    for ty in args.types:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"{ty}.gguf"
            # One thread: the reference quantizers are deterministic either way,
            # this just keeps the machine usable.
            cmd = [str(args.llama_quantize), "--allow-requantize", str(args.model), str(out), ty, "1"]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            data = out.read_bytes()
            r = gguf.GGUFReader(out)
            golden = {
                "generated_by": "scripts/golden_quant_mixes.py",
                "reference": f"llama-quantize --allow-requantize MODEL OUT {ty} 1",
                "versions": {
                    "llama_cpp_python_sdist": LLAMA_CPP_PYTHON_VERSION,
                    "llama_cpp_commit": commit,
                    "gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0",
                    "numpy": np.__version__,
                    "python": platform.python_version(),
                },
                "model_file": args.model.name,
                "model_sha256": sha256(args.model.read_bytes()),
                "type": ty,
                "file_type": int(r.fields["general.file_type"].contents()),
                "file_size": len(data),
                "file_sha256": sha256(data),
                "kv_keys": [k for k in r.fields if not k.startswith("GGUF.")],
                "tensors": [
                    {
                        "name": t.name,
                        "type": t.tensor_type.name,
                        "shape": [int(x) for x in t.shape],
                        "offset": int(t.data_offset - r.data_offset),
                        "sha256": sha256(data[t.data_offset:t.data_offset + t.n_bytes]),
                    }
                    for t in r.tensors
                ],
            }
            path = OUT / f"{ty}.json"
            path.write_text(json.dumps(keep_check(path, golden), indent=1) + "\n")
            print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
