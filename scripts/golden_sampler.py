#!/usr/bin/env python3
"""The sampler's golden file: llama.cpp's sampler chain on logits we choose.

    bash scripts/reference/build_llamacpp.sh        # once: builds llama-server
    python3 scripts/golden_sampler.py               # needs numpy and gguf (pip)

Writes tests/golden/sampler/llamacpp_chain.json, read offline by
crates/infer/tests/sampler_golden.rs.

Comparing two samplers needs the same logits going in. Running a real model
in both engines would give logits that agree to ~1e-6 only, enough to move a
top-p or min-p cut. So the logits are made exact instead:

- a tiny llama GGUF (gguf-py, written outside the repository) whose output
  matrix is zero: every logit it computes is exactly 0.0;
- llama-server's `logit_bias` then sets each token's logit to the value we
  chose. The bias is the first sampler of llama.cpp's chain
  (common/sampling.cpp, common_sampler_init), so 0 + bias = bias exactly and
  everything after it (penalties, top-k, top-p, min-p, temperature, the
  final softmax of `dist`) is llama.cpp's own code.
- `post_sampling_probs: true` with `n_probs` = the vocabulary size returns the
  distribution `dist` draws from: every surviving token and its probability.

The prompt is sent as token ids: it is the history the penalties look at
(the server feeds every prompt token to the sampler, server-context.cpp
init_sampler). Cases with `samplers` set run llama.cpp's chain in another
order (temperature first, as Hugging Face transformers does).
"""

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from golden_llamacpp import THREADS, free_port, llamacpp_reference, post, sha256_file, wait_healthy, write_json

ROOT = Path(__file__).resolve().parent.parent
REF = Path.home() / ".cache/locallm-ref/llama.cpp-0.3.36"
OUT = ROOT / "tests" / "golden" / "sampler" / "llamacpp_chain.json"
N_VOCAB = 64
N_EMBD = 32
SEED = 20240607

# Parameters every request sets, so that no server default decides a case:
# the samplers this comparison does not cover are off (their neutral values).
NEUTRAL = {
    "temperature": 1.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0,
    "repeat_penalty": 1.0, "frequency_penalty": 0.0, "presence_penalty": 0.0, "repeat_last_n": 64,
    "typical_p": 1.0, "dry_multiplier": 0.0, "xtc_probability": 0.0, "top_n_sigma": -1.0,
    "mirostat": 0, "dynatemp_range": 0.0, "min_keep": 0,
}
# the parameters locallm's SamplerConfig shares with llama-server, by the same names
SHARED = ["temperature", "top_k", "top_p", "min_p", "repeat_penalty", "frequency_penalty",
          "presence_penalty", "repeat_last_n"]
TEMPERATURE_FIRST = ["penalties", "temperature", "top_k", "top_p", "min_p"]


def tiny_model(path):
    """A one-layer llama with every weight zero: its logits are exactly 0."""
    import gguf

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(256)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(1)
    w.add_feed_forward_length(N_EMBD)
    w.add_head_count(1)
    w.add_head_count_kv(1)
    w.add_rope_dimension_count(N_EMBD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("llama")
    tokens = ["<unk>", "<s>", "</s>"] + [f"\u2581t{i}" for i in range(3, N_VOCAB)]
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * N_VOCAB)
    w.add_token_types([2, 3, 3] + [1] * (N_VOCAB - 3))  # unknown, control, control, normal...
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(False)
    zeros = lambda *shape: np.zeros(shape, dtype=np.float32)
    ones = lambda n: np.ones(n, dtype=np.float32)
    w.add_tensor("token_embd.weight", zeros(N_VOCAB, N_EMBD))
    w.add_tensor("output_norm.weight", ones(N_EMBD))
    w.add_tensor("output.weight", zeros(N_VOCAB, N_EMBD))
    for name in ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]:
        w.add_tensor(f"blk.0.{name}.weight", zeros(N_EMBD, N_EMBD))
    w.add_tensor("blk.0.attn_norm.weight", ones(N_EMBD))
    w.add_tensor("blk.0.ffn_norm.weight", ones(N_EMBD))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def logit_sets():
    """Logits as float32 values (3 decimals, all distinct): a broad one and a
    peaked one (one token far ahead, a long flat tail)."""
    rng = np.random.RandomState(SEED)
    broad = np.round(rng.normal(0.0, 2.0, N_VOCAB), 3).astype(np.float32)
    peaked = np.round(rng.normal(-1.0, 1.0, N_VOCAB), 3).astype(np.float32)
    peaked[int(np.argmax(peaked))] += 3.5
    for v in (broad, peaked):
        assert len(set(v.tolist())) == N_VOCAB, "ties would make the order of equal logits matter"
    return {"broad": broad, "peaked": peaked}


def cases(logits):
    broad = logits["broad"]
    order = np.argsort(-broad)
    best, negative = [int(i) for i in order[:8]], [int(i) for i in order[-6:]]
    # a history that repeats the likeliest tokens (so that penalties move the
    # head of the distribution) and some negative-logit ones (multiplied, not
    # divided, by the repetition penalty); its first tokens fall outside a
    # window of 16
    history = ([best[5], best[6], best[5]] + [best[0], best[1], best[0], negative[0], best[2], best[0],
               negative[1], best[3], negative[0], best[1], best[0], best[4], negative[2], best[2], best[0]])
    c = []

    def add(name, logits_name, settings, hist=(), samplers=None):
        c.append({"name": name, "logits": logits_name, "history": list(hist),
                  "settings": dict(settings), "samplers": samplers})

    for t in [0.5, 1.0, 1.7]:
        add(f"temperature {t}", "broad", {"temperature": t})
    add("temperature 0 (greedy)", "broad", {"temperature": 0.0})
    for k in [1, 5, 20]:
        add(f"top_k {k}", "broad", {"top_k": k})
    for p in [0.5, 0.9]:
        add(f"top_p {p}", "broad", {"top_p": p})
    add("top_p 0.6 peaked", "peaked", {"top_p": 0.6})
    for m in [0.05, 0.2]:
        add(f"min_p {m}", "broad", {"min_p": m})
    add("min_p 0.01 peaked", "peaked", {"min_p": 0.01})
    add("repeat_penalty 1.3", "broad", {"repeat_penalty": 1.3, "repeat_last_n": 64}, history)
    add("repeat_penalty 1.3 last 16", "broad", {"repeat_penalty": 1.3, "repeat_last_n": 16}, history)
    add("frequency_penalty 0.4", "broad", {"frequency_penalty": 0.4, "repeat_last_n": 64}, history)
    add("presence_penalty 0.6", "broad", {"presence_penalty": 0.6, "repeat_last_n": 64}, history)
    add("all penalties last 8", "broad", {"repeat_penalty": 1.2, "frequency_penalty": 0.3,
                                          "presence_penalty": 0.5, "repeat_last_n": 8}, history)
    add("defaults (top_k 40, top_p 0.95, min_p 0.05, t 0.8)", "broad",
        {"temperature": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05}, history)
    full = {"temperature": 1.3, "top_k": 12, "top_p": 0.8, "min_p": 0.1, "repeat_penalty": 1.2,
            "frequency_penalty": 0.1, "presence_penalty": 0.2, "repeat_last_n": 16}
    add("full chain", "broad", full, history)
    add("full chain, t 0.6", "broad", dict(full, temperature=0.6), history)
    add("full chain peaked", "peaked", dict(full, temperature=0.7, top_p=0.9, min_p=0.02), history)
    # the same settings, temperature applied before the filters
    for t, p, m in [(0.5, 0.8, 0.1), (2.0, 0.8, 0.1), (2.0, 0.95, 0.0), (0.5, 1.0, 0.1)]:
        s = {"temperature": t, "top_k": 30, "top_p": p, "min_p": m}
        add(f"t {t}, top_p {p}, min_p {m}", "broad", s)
        add(f"t {t}, top_p {p}, min_p {m}, temperature first", "broad", s, samplers=TEMPERATURE_FIRST)
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path, default=REF / "build" / "bin")
    args = ap.parse_args()
    reference = llamacpp_reference(REF, args.bin / "llama-server", "scripts/golden_sampler.py")
    logits = logit_sets()
    all_cases = cases(logits)

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "zero-logits.gguf"
        tiny_model(model)
        model_sha = sha256_file(model)
        port = free_port()
        log_path = REF / "llama-server-sampler.log"
        cmd = [str(args.bin / "llama-server"), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
               "-t", THREADS, "-c", "256", "-np", "1", "--no-warmup"]
        with open(log_path, "w") as log:
            server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_healthy(port, server, log_path)
            default_chain = None
            for case in all_cases:
                hist = case["history"] or [3]  # the server needs a prompt: one token, and no penalty is asked for
                body = dict(NEUTRAL, **case["settings"])
                body.update({
                    "prompt": hist, "n_predict": 1, "n_probs": N_VOCAB, "post_sampling_probs": True,
                    "cache_prompt": False, "seed": 1,
                    "logit_bias": [[i, float(v)] for i, v in enumerate(logits[case["logits"]])],
                })
                if case["samplers"]:
                    body["samplers"] = case["samplers"]
                r = post(port, "/completion", body)
                assert r["tokens_evaluated"] == len(hist), (r["tokens_evaluated"], hist)
                g = r["generation_settings"]
                for key, value in body.items():
                    if key in NEUTRAL and isinstance(g.get(key), (int, float)):
                        assert abs(g[key] - value) < 1e-6, (case["name"], key, g[key], value)
                if not case["samplers"]:
                    chain = g["samplers"]
                    assert default_chain in (None, chain), chain
                    default_chain = chain
                case["history"] = hist
                case["settings"] = {k: body[k] for k in SHARED}
                case["order"] = g["samplers"]
                [step] = r["completion_probabilities"]
                case["probs"] = [[t["id"], t["prob"]] for t in step["top_probs"]]
                assert abs(sum(p for _, p in case["probs"]) - 1.0) < 1e-5, case
                print(f"{case['name']}: {len(case['probs'])} tokens kept", flush=True)
                del case["samplers"]

            # The model's own logits (before any sampler, bias included) are
            # all equal: the pre-sampling distribution is uniform. (Equal, and
            # 0 because every weight is: the penalty cases depend on that.)
            pre = post(port, "/completion", dict(NEUTRAL, prompt=[3], n_predict=1, n_probs=N_VOCAB,
                                                 post_sampling_probs=False, cache_prompt=False))
            got = [np.exp(t["logprob"]) for t in pre["completion_probabilities"][0]["top_logprobs"]]
            assert len(got) == N_VOCAB and max(abs(p - 1 / N_VOCAB) for p in got) < 1e-7, got
        finally:
            server.terminate()
            server.wait(timeout=30)

    write_json(OUT, {
        "reference": dict(reference, model={
            "file": "zero-logits.gguf (written by the script with gguf-py, not kept)",
            "what": f"llama, 1 layer, n_embd {N_EMBD}, vocab {N_VOCAB}, every weight 0 (norms 1): logits exactly 0",
            "sha256": model_sha}),
        "command": f"llama-server -m zero-logits.gguf --host 127.0.0.1 --port PORT -t {THREADS} -c 256 -np 1 "
                   "--no-warmup; POST /completion per case",
        "request": {"prompt": "the case's history as token ids",
                    "n_predict": 1, "n_probs": N_VOCAB, "post_sampling_probs": True, "cache_prompt": False,
                    "logit_bias": "[[id, logit]] for every id: the case's logits",
                    "other parameters": NEUTRAL, "samplers": "only for cases whose order is not the default"},
        "notes": "probs: what llama.cpp's final `dist` sampler draws from, best first, tokens with p = 0 "
                 "left out by the server (server-context.cpp populate_token_probs). order: the server's "
                 "generation_settings.samplers for the request. history: the prompt, which the server feeds "
                 "to the penalty sampler (the one token 3 where the case asks for no penalty). settings: every "
                 "parameter the case's request shares with locallm's SamplerConfig, by the same names.",
        "n_vocab": N_VOCAB,
        "default_order": default_chain,
        "logits": {name: [float(v) for v in values] for name, values in logits.items()},
        "cases": all_cases,
    })


if __name__ == "__main__":
    main()
