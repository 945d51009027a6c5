#!/usr/bin/env python3
"""Tiny random-weight models of every family, and llama.cpp's logits on them.

Called by scripts/golden_arch.sh, which builds scripts/reference/logits.cpp
against the reference llama.cpp first. For each architecture (llama with
Llama 3 RoPE frequency factors, qwen2 with Q/K/V biases and linear RoPE
scaling, qwen3, gemma3 with sliding-window layers, phi3 with fused matrices)
it writes, under tests/golden/arch/:

  <arch>.gguf   a tiny model, F32 weights, written by gguf-py (the copy in the
                llama.cpp sources we built), deterministic (seeded numpy)
  <arch>.json   the logits llama.cpp computes at every position of PROMPT

The vocabulary is a small GPT-2-style byte-level BPE (256 byte tokens, five
merges, one control token): the prompt is token ids, so any vocabulary
llama.cpp accepts will do.

With --gemma MODEL (the real Gemma 3 270M Q4_K_M file) it also writes
tests/golden/generate/gemma3_270m_greedy_f32.json: llama-server's greedy
continuations of the raw prompts of golden_llamacpp.py on that model with
every tensor dequantized to F32 (scripts/reference/dequantize_gguf_f32.py)
and an F32 KV cache, as generate/greedy_f32.json is for SmolLM2;
perplexity/gemma3_270m_f32_gpl3_ctx128.json, llama-perplexity on that copy;
and perplexity/gemma3_270m_q4_k_m_gpl3_ctx128.json, llama-perplexity on the
Q4_K_M file itself.
"""

import argparse
import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

from golden_llamacpp import generate_goldens, gguf_add_bos, llamacpp_reference, perplexity_goldens, sha256_file, write_json

PROMPT = [261, 17, 200, 45, 3, 99, 150, 7, 61, 250, 33, 128]

# d_model 32, 4 query heads of 8, 2 KV heads: every family's shapes stay small
BASE = dict(d=32, n_heads=4, n_kv=2, head_dim=8, ffn=64, layers=2, ctx=256, eps=1e-5, rope_base=10000.0)

ARCHS = {
    # Llama 3.x: rope_freqs from the converter's llama3 formula, own output matrix
    "llama": dict(BASE, rope_base=500000.0, llama3_rope=dict(factor=8.0, low_freq_factor=1.0,
                  high_freq_factor=4.0, original_max_position_embeddings=256), tied=False),
    # Qwen 2.5: Q/K/V biases; linear RoPE scaling x2 (rope.scaling.type/factor keys)
    "qwen2": dict(BASE, rope_base=1000000.0, eps=1e-6, qkv_bias=True, linear_factor=2.0, tied=True),
    # Qwen 3: per-head Q/K RMSNorm, head width 16 != d_model / n_heads
    "qwen3": dict(BASE, head_dim=16, rope_base=1000000.0, eps=1e-6, qk_norm=True, tied=True),
    # Gemma 3: 6 layers so the default pattern (5 local, 1 global) shows, window 4
    # < prompt length, no freq_base_swa key (llama.cpp's default 10000 applies),
    # head width 16, sqrt(d) embedding scale, pre+post norms, GeGLU
    "gemma3": dict(BASE, head_dim=16, layers=6, rope_base=1000000.0, eps=1e-6, qk_norm=True,
                   post_norms=True, window=4, tied=True),
    # Phi-3: fused attn_qkv and ffn_up (gate rows first, then up)
    "phi3": dict(BASE, fused=True, tied=False),
}


def byte_vocab():
    """GPT-2's byte-to-character map, five merges and <|endoftext|>."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    chars = dict(zip(bs, (chr(c) for c in cs)))
    tokens = [chars[b] for b in range(256)]
    merges = ["Ġ t", "h e", "i n", "Ġ a", "e r"]
    tokens += [m.replace(" ", "") for m in merges] + ["<|endoftext|>"]
    types = [1] * (len(tokens) - 1) + [3]  # normal..., control
    return tokens, types, merges


def llama3_rope_factors(head_dim, base, p):
    """What convert_hf_to_gguf.py (conversion/llama.py, generate_extra_tensors)
    writes as rope_freqs for rope_type "llama3"."""
    out = []
    low_wavelen = p["original_max_position_embeddings"] / p["low_freq_factor"]
    high_wavelen = p["original_max_position_embeddings"] / p["high_freq_factor"]
    for i in range(0, head_dim, 2):
        wavelen = 2 * math.pi / (1.0 / base ** (i / head_dim))
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(p["factor"])
        else:
            smooth = (p["original_max_position_embeddings"] / wavelen - p["low_freq_factor"]) / (
                p["high_freq_factor"] - p["low_freq_factor"])
            out.append(1 / ((1 - smooth) / p["factor"] + smooth))
    return out


def write_model(gguf, np, arch, c, path, seed):
    rng = np.random.default_rng(seed)
    tokens, types, merges = byte_vocab()
    vocab = len(tokens)
    d, hd, ffn = c["d"], c["head_dim"], c["ffn"]
    q_dim, kv_dim = c["n_heads"] * hd, c["n_kv"] * hd

    def mat(rows, cols):  # a [rows, cols] weight: GGUF ne = [cols, rows]
        return rng.normal(0.0, 1.0 / math.sqrt(cols), size=(rows, cols)).astype(np.float32)

    def gain(n):
        return (1.0 + 0.1 * rng.normal(size=n)).astype(np.float32)

    w = gguf.GGUFWriter(str(path), arch)
    # not "phi3": llama.cpp gives Phi-3 special tokens attributes by general.name
    w.add_name("tiny random weights")
    w.add_file_type(0)  # ALL_F32
    w.add_context_length(c["ctx"])
    w.add_embedding_length(d)
    w.add_block_count(c["layers"])
    w.add_feed_forward_length(ffn)
    w.add_head_count(c["n_heads"])
    w.add_head_count_kv(c["n_kv"])
    w.add_layer_norm_rms_eps(c["eps"])
    w.add_rope_freq_base(c["rope_base"])
    if hd != d // c["n_heads"]:
        w.add_key_length(hd)
        w.add_value_length(hd)
    if arch == "phi3":
        w.add_rope_dimension_count(hd)
    if "linear_factor" in c:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(c["linear_factor"])
    if "window" in c:
        w.add_sliding_window(c["window"])
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab - 1)
    w.add_eos_token_id(vocab - 1)
    w.add_add_bos_token(False)

    # rows of norm ~1, so that tied logits stay O(1) and 1e-4 is a tight bound
    w.add_tensor("token_embd.weight", rng.normal(0.0, 1.0 / math.sqrt(d), size=(vocab, d)).astype(np.float32))
    w.add_tensor("output_norm.weight", gain(d))
    if not c["tied"]:
        w.add_tensor("output.weight", mat(vocab, d))
    if "llama3_rope" in c:
        w.add_tensor("rope_freqs.weight", np.array(llama3_rope_factors(hd, c["rope_base"], c["llama3_rope"]), dtype=np.float32))
    for i in range(c["layers"]):
        t = lambda name: f"blk.{i}.{name}"  # noqa: E731
        w.add_tensor(t("attn_norm.weight"), gain(d))
        if c.get("fused"):
            w.add_tensor(t("attn_qkv.weight"), mat(q_dim + 2 * kv_dim, d))
        else:
            w.add_tensor(t("attn_q.weight"), mat(q_dim, d))
            w.add_tensor(t("attn_k.weight"), mat(kv_dim, d))
            w.add_tensor(t("attn_v.weight"), mat(kv_dim, d))
        if c.get("qkv_bias"):
            for name, n in (("attn_q", q_dim), ("attn_k", kv_dim), ("attn_v", kv_dim)):
                w.add_tensor(t(f"{name}.bias"), (0.5 * rng.normal(size=n)).astype(np.float32))
        if c.get("qk_norm"):
            w.add_tensor(t("attn_q_norm.weight"), gain(hd))
            w.add_tensor(t("attn_k_norm.weight"), gain(hd))
        w.add_tensor(t("attn_output.weight"), mat(d, q_dim))
        if c.get("post_norms"):
            w.add_tensor(t("post_attention_norm.weight"), gain(d))
            w.add_tensor(t("post_ffw_norm.weight"), gain(d))
        w.add_tensor(t("ffn_norm.weight"), gain(d))
        if c.get("fused"):
            w.add_tensor(t("ffn_up.weight"), mat(2 * ffn, d))
        else:
            w.add_tensor(t("ffn_gate.weight"), mat(ffn, d))
            w.add_tensor(t("ffn_up.weight"), mat(ffn, d))
        w.add_tensor(t("ffn_down.weight"), mat(d, ffn))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


ARCH_TOLERANCE = ("2e-5 absolute per logit (f32 weights, f32 KV cache, flash attention off); "
                  "gemma3 5e-4 with llama.cpp's f16-table GELU twin, 4e-3 with the exact GELU")
ARCH_WHY = ("both sides compute in f32 and differ in summation order and in llama.cpp's RoPE angles "
            "(a running product); gemma3's f16-table GELU rounds its input to f16, so an input on a "
            "rounding edge takes the neighbouring entry, and which inputs sit on an edge depends on "
            "the host's sum order")


GEMMA_CHECK = {
    "concept": "Gemma 3 270M: greedy generation and top-5 log-probabilities on the F32-dequantized weights, f32 KV cache",
    "reference": "llama.cpp 0c1e57098bba (vendor/llama.cpp of the llama-cpp-python 0.3.36 sdist), llama-server -ctk f32 -ctv f32 -fa off",
    "tolerance": "same 32 token ids per prompt; top-5 log-probabilities within 3e-2 (5e-3 with llama.cpp's f16-table GELU)",
    "why": "same f32 weights on both sides; llama.cpp's CPU GELU reads an f16 table (ggml-cpu/vec.h, GGML_GELU_FP16), ours is exact",
    "test": "crates/model/tests/gemma3_real.rs",
}


GEMMA_PPL_CHECK = {
    "concept": "Gemma 3 270M: perplexity on the GPL-3 text, 128-token chunks, F32-dequantized weights",
    "reference": "llama.cpp 0c1e57098bba (vendor/llama.cpp of the llama-cpp-python 0.3.36 sdist), llama-perplexity",
    "tolerance": "0.2% relative",
    "why": "same f32 weights; llama.cpp's f16-table GELU and summation order move each log-probability by ~1e-2 at most, and the mean far less",
    "test": "crates/cli/tests/families.rs",
}


GEMMA_Q4_K_M_PPL_CHECK = {
    "concept": "Gemma 3 270M: perplexity on the GPL-3 text, 128-token chunks, the Q4_K_M file itself",
    "reference": "llama.cpp 0c1e57098bba (vendor/llama.cpp of the llama-cpp-python 0.3.36 sdist), llama-perplexity",
    "tolerance": "1% relative",
    "why": "same quantized weights; llama.cpp's CPU path rounds every activation to 8 bits before its block dot products (q8_0/q8_K), ours keeps them f32, so the two differ by the cost of that rounding, which moves the mean log-probability by a fraction of a percent",
    "test": "crates/cli/tests/families.rs",
}


def gemma_perplexity(ns, reference, add_bos, model, out, check):
    """llama-perplexity on `model` at 128-token chunks, written to `out` with `check`."""
    perplexity_goldens(ns, reference, add_bos, model=model, contexts=[128], out_name=out)
    path = ns.golden / out.format(n_ctx=128)
    doc = json.loads(path.read_text())
    doc.pop("check", None)
    write_json(path, {"check": check, **doc})


def gemma_goldens(args, model):
    """Greedy continuations of golden_llamacpp.PROMPTS on the F32 copy of `model`."""
    f32_model = args.ref_root.parent / (model.stem + ".F32.gguf")
    if not f32_model.exists() or f32_model.stat().st_mtime < model.stat().st_mtime:
        subprocess.run([sys.executable, str(Path(__file__).parent / "reference/dequantize_gguf_f32.py"),
                        str(model), str(f32_model)], check=True)
    add_bos, bos_id = gguf_add_bos(model, args.ref_root / "src")
    reference = dict(llamacpp_reference(args.ref_root, args.ref_root / "build/bin/llama-tokenize", "scripts/golden_arch.sh --gemma MODEL"), model={
        "file": model.name,
        "sha256": sha256_file(model),
        "add_bos_token": add_bos,
        "dequantized_to_f32_by": "scripts/reference/dequantize_gguf_f32.py (gguf-py)",
        "f32_sha256": sha256_file(f32_model),
    })
    ns = argparse.Namespace(bin=args.ref_root / "build/bin", ref_root=args.ref_root, model=model, golden=args.golden)
    out = "generate/gemma3_270m_greedy_f32.json"
    generate_goldens(ns, reference, add_bos, bos_id, model=f32_model,
                     extra=("-ctk", "f32", "-ctv", "f32", "-fa", "off"), out=out)
    doc = json.loads((args.golden / out).read_text())
    doc.pop("check", None)
    write_json(args.golden / out, {"check": GEMMA_CHECK, **doc})
    # on the F32 copy (our arithmetic) and on the Q4_K_M file as published
    gemma_perplexity(ns, reference, add_bos, f32_model,
                     "perplexity/gemma3_270m_f32_gpl3_ctx{n_ctx}.json", GEMMA_PPL_CHECK)
    gemma_perplexity(ns, reference, add_bos, model,
                     "perplexity/gemma3_270m_q4_k_m_gpl3_ctx{n_ctx}.json", GEMMA_Q4_K_M_PPL_CHECK)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref-root", type=Path, required=True)
    ap.add_argument("--logits", type=Path, required=True, help="the built scripts/reference/logits.cpp")
    ap.add_argument("--golden", type=Path, required=True)
    ap.add_argument("--gemma", type=Path, help="also the Gemma 3 270M greedy golden, from this file")
    args = ap.parse_args()
    sys.path.insert(0, str(args.ref_root / "src/gguf-py"))
    import gguf  # noqa: E402
    import numpy as np  # noqa: E402

    out_dir = args.golden / "arch"
    out_dir.mkdir(parents=True, exist_ok=True)
    reference = llamacpp_reference(args.ref_root, args.ref_root / "build/bin/llama-tokenize", "scripts/golden_arch.sh")
    reference["program"] = "scripts/reference/logits.cpp (ours), linked against that build's static libllama/libggml"
    for seed, (arch, c) in enumerate(ARCHS.items()):
        model = out_dir / f"{arch}.gguf"
        write_model(gguf, np, arch, c, model, seed)
        out = subprocess.run([str(args.logits), str(model), ",".join(map(str, PROMPT))],
                             check=True, capture_output=True, text=True)
        result = json.loads(out.stdout)
        write_json(out_dir / f"{arch}.json", {
            "check": {
                "concept": "Logits at every position of a tiny random-weight model of each family "
                           "(llama with Llama 3 rope_freqs, qwen2, qwen3, gemma3, phi3)",
                "reference": f"llama.cpp {reference['llama_cpp_commit'][:12]} (vendor/llama.cpp of the llama-cpp-python 0.3.36 sdist), "
                             "through scripts/reference/logits.cpp; model written by its gguf-py",
                "tolerance": ARCH_TOLERANCE,
                "why": ARCH_WHY,
                "test": "crates/model/tests/arch_golden.rs",
            },
            "reference": reference,
            "arch": arch,
            "model": f"arch/{arch}.gguf",
            "model_sha256": sha256_file(model),
            "config": c,
            "command": "logits MODEL.gguf IDS (n_ctx 64, one batch, logits at every position, "
                       "type_k/type_v f32, flash_attn off, 2 threads)",
            "prompt_ids": PROMPT,
            "n_vocab": result["n_vocab"],
            "logits": result["logits"],
        })
    if args.gemma:
        gemma_goldens(args, args.gemma)


if __name__ == "__main__":
    main()
