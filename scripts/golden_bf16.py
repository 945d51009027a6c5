#!/usr/bin/env python3
"""Golden BF16 (and F16) conversions from ml_dtypes, for
crates/quant/src/blocks/float.rs and crates/train/src/checkpoint.rs.

    python3 -m pip install ml_dtypes gguf
    python3 scripts/golden_bf16.py

Writes tests/golden/bf16/conversions.json:

- `narrow`: named f32 edge values (ties to even both ways, the largest
  finite bf16, overflow to inf, ±inf, ±0, f32 and bf16 subnormals, the
  smallest values that round to zero or not, NaNs with payloads) and the
  bf16 bits `ml_dtypes.bfloat16` rounds them to;
- `narrow_sweep`: every bf16 prefix (the top 16 bits) combined with the low
  halves 0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff (393,216 f32 values):
  the SHA-256 of ml_dtypes' bf16 results (little-endian u16) over the
  non-NaN inputs, in order;
- NaN inputs: ml_dtypes turns every NaN into the canonical quiet NaN
  (0x7fc0 / 0xffc0), dropping the payload; ggml and gguf-py keep the top
  payload bits and set the quiet bit, and a GGUF file must hold what
  llama.cpp writes, so for NaNs the golden records gguf-py's
  `gguf.quants.quantize(..., BF16)` bits (`nan_sweep_sha256_gguf`) as the
  bit-exact reference, and ml_dtypes' only as "a NaN of the same sign";
- `widen`: the SHA-256 of the f32 values (little-endian) of all 65,536 bf16
  bit patterns (ml_dtypes), and of the 65,536 f16 bit patterns (numpy's
  float16, IEEE binary16): widening is exact, NaN payloads included, except
  that f16 signalling NaNs come out quiet (as x86's F16C and ggml make
  them), recorded apart with numpy's bits plus the quiet bit.
"""

import hashlib
import json
import pathlib
import platform

import gguf
import ml_dtypes
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/golden/bf16/conversions.json"

LOW_HALVES = [0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF]


def f32_bits(x):
    return int(np.array([x], dtype=np.float32).view(np.uint32)[0])


def narrow_ml(bits):
    """f32 bit patterns (uint32 array) -> bf16 bit patterns, by ml_dtypes."""
    with np.errstate(invalid="ignore"):  # NaN inputs are the point, not an accident
        return bits.view(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16)


def narrow_gguf(bits):
    return gguf.quants.quantize(bits.view(np.float32), gguf.GGMLQuantizationType.BF16).view(np.uint16).reshape(-1)


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).hexdigest()


def edge_values():
    max_bf16 = f32_bits(float(ml_dtypes.finfo(ml_dtypes.bfloat16).max))
    return [
        ("one", 0x3F800000),
        ("tie_1_plus_2^-8_rounds_down_to_even", 0x3F808000),
        ("tie_1_plus_3x2^-8_rounds_up_to_even", 0x3F818000),
        ("just_above_tie_rounds_up", 0x3F808001),
        ("just_below_tie_rounds_down", 0x3F807FFF),
        ("negative_tie", 0xBF808000),
        ("pi", f32_bits(np.pi)),
        ("minus_two", 0xC0000000),
        ("plus_zero", 0x00000000),
        ("minus_zero", 0x80000000),
        ("max_finite_bf16", max_bf16),
        ("max_finite_bf16_plus_half_ulp_overflows_to_inf", max_bf16 + 0x8000),
        ("max_finite_f32_overflows_to_inf", 0x7F7FFFFF),
        ("minus_max_finite_f32", 0xFF7FFFFF),
        ("plus_inf", 0x7F800000),
        ("minus_inf", 0xFF800000),
        ("smallest_f32_subnormal", 0x00000001),
        ("smallest_bf16_subnormal", 0x00010000),
        ("half_smallest_bf16_subnormal_tie_to_zero", 0x00008000),
        ("above_half_smallest_bf16_subnormal", 0x00008001),
        ("largest_f32_subnormal_rounds_to_min_normal", 0x007FFFFF),
        ("min_normal", 0x00800000),
        ("negative_subnormal", 0x80012345),
        ("quiet_nan", 0x7FC00000),
        ("negative_quiet_nan", 0xFFC00000),
        ("signalling_nan_payload_high", 0x7F810000),
        ("signalling_nan_payload_low_only", 0x7F800001),
        ("quiet_nan_payload", 0x7FE12345),
        ("negative_nan_payload", 0xFFA5A5A5),
    ]


def main():
    edges = []
    for name, bits in edge_values():
        b = np.array([bits], dtype=np.uint32)
        entry = {"name": name, "f32_bits": f"{bits:08x}", "bf16_bits": f"{int(narrow_ml(b)[0]):04x}"}
        if np.isnan(b.view(np.float32)[0]):
            entry["bf16_bits_gguf"] = f"{int(narrow_gguf(b)[0]):04x}"
        edges.append(entry)

    hi = np.arange(1 << 16, dtype=np.uint32) << 16
    sweep = (hi[:, None] | np.array(LOW_HALVES, dtype=np.uint32)[None, :]).reshape(-1)
    is_nan = np.isnan(sweep.view(np.float32))
    ml = narrow_ml(sweep)
    # ml_dtypes gives a NaN of the input's sign for every NaN input.
    assert np.all(np.isnan((ml.astype(np.uint32) << 16).view(np.float32)[is_nan]))
    assert np.all((ml[is_nan] >> 15) == (sweep[is_nan] >> 31))
    gg = narrow_gguf(sweep)
    assert np.array_equal(gg[~is_nan], ml[~is_nan]), "gguf-py and ml_dtypes disagree on a non-NaN"

    all16 = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    widen_bf16 = all16.view(ml_dtypes.bfloat16).astype(np.float32)
    widen_f16 = all16.view(np.float16).astype(np.float32).view(np.uint32)
    # f16 signalling NaNs (exponent all ones, top mantissa bit clear, payload
    # not zero): numpy keeps them signalling; x86's F16C instruction, ggml and
    # the `half` crate set the quiet bit. Recorded apart, with that bit set.
    f16_snan = ((all16 & 0x7C00) == 0x7C00) & ((all16 & 0x0200) == 0) & ((all16 & 0x03FF) != 0)

    doc = {
        "check": {
            "concept": "BF16 and F16 conversions (f32 to bf16 rounding, bf16/f16 to f32)",
            "reference": f"ml_dtypes {ml_dtypes.__version__}; numpy {np.__version__} float16; "
            f"gguf-py {gguf_version()} for NaN payloads",
            "tolerance": "bit-identical",
            "why": "a conversion is exact or wrong; NaNs follow gguf-py (ggml keeps the payload's top bits), "
            "ml_dtypes only fixes their sign",
            "test": "crates/quant/tests/bf16_golden.rs, crates/train/tests/safetensors_halves_golden.rs",
        },
        "generated_by": "scripts/golden_bf16.py",
        "versions": {
            "ml_dtypes": ml_dtypes.__version__,
            "numpy": np.__version__,
            "gguf": gguf_version(),
            "python": platform.python_version(),
        },
        "narrow": edges,
        "narrow_sweep": {
            "inputs": "for hi in 0..65536, for lo in low_halves: f32 bits (hi << 16) | lo",
            "low_halves": [f"{x:04x}" for x in LOW_HALVES],
            "n_inputs": int(sweep.size),
            "n_nan_inputs": int(is_nan.sum()),
            "non_nan_sha256_ml_dtypes": sha(ml[~is_nan]),
            "nan_sha256_gguf": sha(gg[is_nan]),
        },
        "widen": {
            "bf16_all_65536_to_f32_sha256_ml_dtypes": sha(widen_bf16.view(np.uint32)),
            "f16_to_f32_except_signalling_nan_sha256_numpy": sha(widen_f16[~f16_snan]),
            "f16_signalling_nan_count": int(f16_snan.sum()),
            "f16_signalling_nan_to_f32_sha256_numpy_quiet_bit_set": sha(widen_f16[f16_snan] | np.uint32(0x00400000)),
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT}")


def gguf_version():
    from importlib.metadata import version

    return version("gguf")


if __name__ == "__main__":
    main()
