#!/usr/bin/env python3
"""Golden files for locallm-quant, produced by gguf-py (the GGUF reference in Python).

    pip install gguf==0.19.0 numpy
    python3 scripts/golden_quant.py [--model PATH] [--ggml-src DIR]

Writes into tests/golden/quant/:

  model_facts.json   header facts of the default model as gguf-py reads them:
                     version, alignment, data offset, every key (type, value or
                     array digest) and every tensor (name, type, shape, offset).
  dequant.json       for a few tensors of each type in the model: a fingerprint
                     of `gguf.quants.dequantize` (first 64 values, float64 sum
                     and sum of squares, sha256 of the float32 bytes).
  synthetic.json     random normal inputs (plus edge-case blocks) quantized by
                     `gguf.quants.quantize` to Q8_0/Q4_0/Q4_1: block bytes and
                     dequantized values, as hex.
  synthetic_input.npy  those inputs, written by numpy.save.
  all_types.json     every type we implement (Q4_0..Q8_0, Q5_0, Q5_1, Q2_K..Q6_K,
                     Q8_K) on fixed inputs (all_types_input.npy: random normal,
                     student-t, zeros, constant, tiny, huge, all-positive,
                     sparse; 512 values each): the bytes of ggml's C
                     `quantize_row_*_ref` (needs --ggml-src) and the sha256 of
                     `gguf.quants.dequantize` of those bytes (gguf-py has no
                     Q8_K, so Q8_K uses ggml's `dequantize_row_q8_K`), plus
                     whether gguf-py's own quantizer / ggml's dequantizer agree.
  npy_*.npy          small arrays written by numpy.save, to check our .npy writer
                     byte for byte.

With --ggml-src (llama.cpp's `ggml/` directory, e.g. from the llama-cpp-python
sdist that scripts/reference/build_llamacpp.sh unpacks) the script also compiles
ggml's own `ggml-quants.c` into a throwaway library and checks that gguf-py's
quantizer and dequantizer give the same bytes/values as ggml's C reference
(`quantize_row_*_ref`, `dequantize_row_*`). The result is recorded in
synthetic.json and dequant.json; nothing of ggml is copied into the repository.
"""

import argparse
import ctypes
import hashlib
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as QT
from golden_check import keep_check

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "golden" / "quant"
DEFAULT_MODEL = Path.home() / ".cache/locallm/models/SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_CPP_PYTHON_VERSION = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
DEFAULT_GGML_SRC = (
    Path(os.environ.get("LOCALLM_REF_DIR", Path.home() / ".cache/locallm-ref"))
    / f"llama.cpp-{LLAMA_CPP_PYTHON_VERSION}/src/ggml"
)

# A handful of tensors covering every type in the model (Q8_0, Q4_1, F32).
DEQUANT_TENSORS = [
    "token_embd.weight",  # Q8_0, the (tied) embedding
    "blk.0.attn_q.weight",  # Q4_1
    "blk.0.ffn_down.weight",  # Q4_1, rows of 1536
    "blk.29.attn_k.weight",  # Q4_1, last layer
    "blk.0.attn_norm.weight",  # F32
    "output_norm.weight",  # F32
]

GGUF_TYPE_NAMES = {
    gguf.GGUFValueType.UINT8: "u8",
    gguf.GGUFValueType.INT8: "i8",
    gguf.GGUFValueType.UINT16: "u16",
    gguf.GGUFValueType.INT16: "i16",
    gguf.GGUFValueType.UINT32: "u32",
    gguf.GGUFValueType.INT32: "i32",
    gguf.GGUFValueType.FLOAT32: "f32",
    gguf.GGUFValueType.BOOL: "bool",
    gguf.GGUFValueType.STRING: "string",
    gguf.GGUFValueType.ARRAY: "array",
    gguf.GGUFValueType.UINT64: "u64",
    gguf.GGUFValueType.INT64: "i64",
    gguf.GGUFValueType.FLOAT64: "f64",
}


def versions() -> dict:
    return {
        "gguf": gguf.__version__ if hasattr(gguf, "__version__") else _dist_version("gguf"),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def f32_hex(a: np.ndarray) -> str:
    return np.ascontiguousarray(a, dtype="<f4").tobytes().hex()


def fingerprint(values: np.ndarray) -> dict:
    v = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
    return {
        "n_elements": int(v.size),
        "first_64": [float(x) for x in v[:64]],
        "sum_f64": float(np.sum(v, dtype=np.float64)),
        "sum_sq_f64": float(np.sum(v.astype(np.float64) ** 2)),
        "sha256_f32_le": sha256(v.tobytes()),
    }


# ---------------------------------------------------------------- metadata --


def field_fact(field) -> dict:
    types = [GGUF_TYPE_NAMES[t] for t in field.types]
    fact = {"type": types[0] if len(types) == 1 else f"array[{','.join(types[1:])}]"}
    if field.types[0] != gguf.GGUFValueType.ARRAY:
        fact["value"] = field.contents()
        return fact
    # Arrays: length, the first elements, and a sha256 of the elements exactly
    # as GGUF encodes them (strings as u64 length + utf-8 bytes).
    if len(field.types) > 2:
        raise SystemExit(f"nested array in {field.name}: extend this script")
    elems = [field.parts[i] for i in field.data]
    if field.types[1] == gguf.GGUFValueType.STRING:
        payload = b"".join(len(e).to_bytes(8, "little") + bytes(e) for e in elems)
    else:
        payload = b"".join(np.ascontiguousarray(e).tobytes() for e in elems)
    contents = field.contents()
    fact["len"] = len(elems)
    fact["head"] = contents[:8]
    fact["sha256_gguf_elements"] = sha256(payload)
    return fact


def model_facts(reader: gguf.GGUFReader, model: Path) -> dict:
    fields = reader.fields
    kv = {k: field_fact(f) for k, f in fields.items() if not k.startswith("GGUF.")}
    return {
        "generated_by": "scripts/golden_quant.py",
        "versions": versions(),
        "model_file": model.name,
        "model_sha256": sha256(model.read_bytes()),
        "version": int(fields["GGUF.version"].contents()),
        "tensor_count": int(fields["GGUF.tensor_count"].contents()),
        "kv_count": int(fields["GGUF.kv_count"].contents()),
        "alignment": int(reader.alignment),
        "data_offset": int(reader.data_offset),
        "general.architecture": fields["general.architecture"].contents(),
        "llama.block_count": int(fields["llama.block_count"].contents()),
        "kv": kv,
        "tensors": [
            {
                "name": t.name,
                "type": t.tensor_type.name,
                "type_id": int(t.tensor_type),
                "shape": [int(x) for x in t.shape],  # GGUF order: ne[0] first
                "n_elements": int(t.n_elements),
                "n_bytes": int(t.n_bytes),
                # absolute file offset of the tensor data
                "file_offset": int(t.data_offset),
            }
            for t in reader.tensors
        ],
    }


# --------------------------------------------------------- ggml C reference --


class GgmlC:
    """ggml's own C quantizers, compiled from source into a temporary library."""

    CFLAGS = ["-O2", "-fPIC", "-shared", "-std=gnu11", "-ffp-contract=off", "-DNDEBUG"]
    STUBS = r"""
    #include <stdlib.h>
    #include <stddef.h>
    void ggml_abort(const char *f, int l, const char *fmt, ...) { abort(); }
    size_t ggml_row_size(int t, long n) { abort(); }
    const char *ggml_type_name(int t) { abort(); }
    size_t ggml_type_size(int t) { abort(); }
    """

    def __init__(self, src: Path, tmp: Path):
        stub = tmp / "stubs.c"
        stub.write_text(self.STUBS)
        lib = tmp / "libggml_quants_ref.so"
        cmd = ["cc", *self.CFLAGS, "-I", str(src / "include"), "-I", str(src / "src"),
               str(src / "src/ggml-quants.c"), str(stub), "-o", str(lib), "-lm"]
        subprocess.run(cmd, check=True)
        self.lib = ctypes.CDLL(str(lib))
        self.src = src

    @staticmethod
    def c_name(qt: QT) -> str:
        """ggml's spelling in function names: q4_0, q4_K."""
        return qt.name.lower().replace("_k", "_K")

    def quantize(self, x: np.ndarray, qt: QT) -> bytes:
        bs, ts = gguf.GGML_QUANT_SIZES[qt]
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros(x.size // bs * ts, dtype=np.uint8)
        fn = getattr(self.lib, f"quantize_row_{self.c_name(qt)}_ref")
        fn(x.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p), ctypes.c_int64(x.size))
        return out.tobytes()

    def dequantize(self, blocks: bytes, qt: QT) -> np.ndarray:
        bs, ts = gguf.GGML_QUANT_SIZES[qt]
        src = np.frombuffer(blocks, dtype=np.uint8).copy()
        n = src.size // ts * bs
        out = np.zeros(n, dtype=np.float32)
        fn = getattr(self.lib, f"dequantize_row_{self.c_name(qt)}")
        fn(src.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p), ctypes.c_int64(n))
        return out

    def describe(self) -> dict:
        return {
            "checked": True,
            "source": f"llama-cpp-python {LLAMA_CPP_PYTHON_VERSION} sdist, vendor/llama.cpp/ggml/src/ggml-quants.c",
            "cflags": " ".join(self.CFLAGS),
        }


# ----------------------------------------------------------------- dequant --


def dequant_golden(reader: gguf.GGUFReader, ggml: GgmlC | None) -> dict:
    by_name = {t.name: t for t in reader.tensors}
    out = []
    for name in DEQUANT_TENSORS:
        t = by_name[name]
        values = gguf.quants.dequantize(t.data, t.tensor_type)
        entry = {
            "name": name,
            "type": t.tensor_type.name,
            "shape": [int(x) for x in t.shape],
            "row_major_shape": [int(x) for x in values.shape],
            **fingerprint(values),
        }
        if ggml is not None and t.tensor_type in (QT.Q8_0, QT.Q4_0, QT.Q4_1):
            c = ggml.dequantize(t.data.tobytes(), t.tensor_type)
            entry["ggml_c_dequantize_identical"] = sha256(c.tobytes()) == entry["sha256_f32_le"]
        out.append(entry)
    return {
        "generated_by": "scripts/golden_quant.py",
        "versions": versions(),
        "reference": "gguf.quants.dequantize",
        "ggml_c_reference": ggml.describe() if ggml else {"checked": False},
        "tensors": out,
    }


# --------------------------------------------------------------- synthetic --


def synthetic_input() -> np.ndarray:
    """13 blocks of 32: 8 random normal, then edge cases that stress rounding."""
    rng = np.random.default_rng(20240611)
    blocks = [rng.standard_normal(32).astype(np.float32) for _ in range(8)]
    blocks.append(np.zeros(32, np.float32))  # d = 0: the `id = 0` path
    blocks.append(np.full(32, 0.75, np.float32))  # constant: Q4_1 has max == min
    outlier = rng.standard_normal(32).astype(np.float32)
    outlier[5] = -40.0  # largest |x| is negative: Q4_0 uses a negative scale's sign
    blocks.append(outlier)
    blocks.append((rng.standard_normal(32) * 1e-6).astype(np.float32))  # f16 subnormal scales
    # amax = 127 makes Q8_0's scale exactly 1, so k + 0.5 values are exact ties:
    # roundf rounds them away from zero (not to even).
    ties = np.array([127.0] + [(k + 0.5) * (-1) ** k for k in range(31)], np.float32)
    blocks.append(ties)
    return np.concatenate(blocks)


def synthetic_golden(x: np.ndarray, ggml: GgmlC | None) -> dict:
    types = {}
    for qt in (QT.Q8_0, QT.Q4_0, QT.Q4_1):
        q = gguf.quants.quantize(x, qt)
        dq = gguf.quants.dequantize(q, qt)
        entry = {
            "block_size": gguf.GGML_QUANT_SIZES[qt][0],
            "type_size": gguf.GGML_QUANT_SIZES[qt][1],
            "blocks_hex": q.tobytes().hex(),
            "dequant_f32_hex": f32_hex(dq),
            "dequant_sha256_f32_le": sha256(np.ascontiguousarray(dq, "<f4").tobytes()),
        }
        if ggml is not None:
            cq = ggml.quantize(x, qt)
            entry["ggml_c_quantize_identical"] = cq == q.tobytes()
            entry["ggml_c_dequantize_identical"] = ggml.dequantize(q.tobytes(), qt).tobytes() == dq.astype("<f4").tobytes()
            if cq != q.tobytes():
                entry["ggml_c_blocks_hex"] = cq.hex()
        types[qt.name] = entry
    return {
        "generated_by": "scripts/golden_quant.py",
        "versions": versions(),
        "reference": "gguf.quants.quantize / gguf.quants.dequantize",
        "ggml_c_reference": ggml.describe() if ggml else {"checked": False},
        "input_file": "synthetic_input.npy",
        "input_sha256_f32_le": sha256(x.astype("<f4").tobytes()),
        "n_values": int(x.size),
        "types": types,
    }


# --------------------------------------------------------------- all types --

ALL_TYPES = [QT.Q4_0, QT.Q4_1, QT.Q5_0, QT.Q5_1, QT.Q8_0,
             QT.Q2_K, QT.Q3_K, QT.Q4_K, QT.Q5_K, QT.Q6_K, QT.Q8_K]
CASE_LEN = 512  # two K-quant super-blocks, sixteen 32-blocks


def all_types_cases() -> dict:
    """Fixed, NaN-free inputs that walk every branch of the quantizers."""
    rng = np.random.default_rng(20250101)
    n = CASE_LEN
    sparse = np.zeros(n, np.float32)
    idx = rng.choice(n, 24, replace=False)  # most 16-groups all zero, some not
    sparse[idx] = rng.standard_normal(24)
    cases = {
        "normal": rng.standard_normal(n),
        "student_t3": rng.standard_t(3, n),  # heavy tails: outliers dominate the scales
        "zeros": np.zeros(n),
        "constant": np.full(n, 0.75),
        "tiny": rng.standard_normal(n) * 1e-30,  # scales underflow f16
        "huge": rng.standard_normal(n) * 1e30,  # scales overflow f16
        "positive": rng.uniform(0.5, 2.0, n),  # min > 0 paths
        "sparse": sparse,
    }
    return {k: np.asarray(v, dtype=np.float32) for k, v in cases.items()}


def all_types_golden(ggml: GgmlC) -> tuple[dict, np.ndarray]:
    cases = all_types_cases()
    x_all = np.concatenate(list(cases.values()))
    types = {}
    for qt in ALL_TYPES:
        per_case = {}
        for name, x in cases.items():
            q = ggml.quantize(x, qt)
            if qt == QT.Q8_K:  # not in gguf-py
                dq = ggml.dequantize(q, qt)
                reference = "ggml dequantize_row_q8_K"
            else:
                with np.errstate(all="ignore"):
                    dq = gguf.quants.dequantize(np.frombuffer(q, np.uint8), qt)
                reference = "gguf.quants.dequantize"
            dq = np.ascontiguousarray(dq, dtype="<f4").reshape(-1)
            entry = {
                "blocks_hex": q.hex(),
                "dequant_reference": reference,
                "dequant_sha256_f32_le": sha256(dq.tobytes()),
                "dequant_first_8_f32_hex": f32_hex(dq[:8]),  # hex: may hold inf/NaN
                "ggml_c_dequantize_identical": ggml.dequantize(q, qt).tobytes() == dq.tobytes(),
            }
            try:
                with np.errstate(all="ignore"):
                    py = gguf.quants.quantize(x, qt).tobytes()
                entry["gguf_py_quantize_identical"] = py == q
            except NotImplementedError:
                pass  # gguf-py has no quantizer for the K-quants
            per_case[name] = entry
        types[qt.name] = {
            "block_size": gguf.GGML_QUANT_SIZES[qt][0],
            "type_size": gguf.GGML_QUANT_SIZES[qt][1],
            "cases": per_case,
        }
    golden = {
        "generated_by": "scripts/golden_quant.py",
        "versions": versions(),
        "quantize_reference": ggml.describe(),
        "input_file": "all_types_input.npy",
        "input_sha256_f32_le": sha256(x_all.astype("<f4").tobytes()),
        "case_len": CASE_LEN,
        "cases": list(cases),
        "types": types,
    }
    return golden, x_all


# ---------------------------------------------------------------------- npy --


def npy_goldens(out: Path) -> None:
    np.save(out / "npy_arange_3x4.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
    np.save(out / "npy_scalar.npy", np.array(1.5, dtype=np.float32))
    np.save(out / "npy_2x1x3x2.npy", (np.arange(12, dtype=np.float32) - 5.5).reshape(2, 1, 3, 2) / 3)


# --------------------------------------------------------------------- main --


def write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(keep_check(path, obj), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--ggml-src", type=Path, default=DEFAULT_GGML_SRC,
                    help="llama.cpp's ggml/ directory, for the C cross-check")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        ggml = None
        if (args.ggml_src / "src/ggml-quants.c").exists():
            ggml = GgmlC(args.ggml_src, Path(tmp))
        else:
            print(f"WARNING: no ggml source at {args.ggml_src}; C cross-check not done (recorded as such)")

        reader = gguf.GGUFReader(args.model)
        write_json(OUT / "model_facts.json", model_facts(reader, args.model))
        write_json(OUT / "dequant.json", dequant_golden(reader, ggml))

        x = synthetic_input()
        np.save(OUT / "synthetic_input.npy", x)
        write_json(OUT / "synthetic.json", synthetic_golden(x, ggml))
        npy_goldens(OUT)

        if ggml is None:
            raise SystemExit("all_types.json needs ggml's C quantizers: pass --ggml-src")
        golden, x_all = all_types_golden(ggml)
        np.save(OUT / "all_types_input.npy", x_all)
        write_json(OUT / "all_types.json", golden)


if __name__ == "__main__":
    main()
