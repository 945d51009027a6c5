#!/usr/bin/env python3
"""Write golden files from llama.cpp for locallm's tests.

Called by scripts/golden_llamacpp.sh, which builds llama.cpp and copies the
perplexity text first. Standard library only. Each output file carries a
"reference" block: llama.cpp version and commit, build flags, model sha256.
"""

import argparse
import hashlib
import json
import math
import re
import socket
import sys
import subprocess
import time
import urllib.request
from pathlib import Path
from golden_check import keep_check

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "Once upon a time",
    "1, 2, 3, 4,",
    "The quick brown fox",
]
N_PREDICT = 32
N_PROBS = 5
THREADS = "2"
PPL_CONTEXTS = [128, 512]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_json(path, data):
    """Indented JSON, but with lists of numbers kept on one line."""
    text = json.dumps(keep_check(path, data), indent=1, ensure_ascii=False)
    text = re.sub(
        r"\[\s*(-?[0-9][-0-9.e+]*(?:,\s*-?[0-9][-0-9.e+]*)*)\s*\]",
        lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
        text,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    print(f"wrote {path}")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def gguf_add_bos(model_path, src_root):
    """`tokenizer.ggml.add_bos_token` as stored in the file (read with the
    gguf-py that ships inside the llama.cpp sources we built)."""
    import sys

    sys.path.insert(0, str(src_root / "gguf-py"))
    import gguf  # noqa: E402  (gguf-py needs numpy)

    reader = gguf.GGUFReader(str(model_path))
    field = reader.fields.get("tokenizer.ggml.add_bos_token")
    bos = reader.fields.get("tokenizer.ggml.bos_token_id")
    return (
        None if field is None else bool(field.contents()),
        None if bos is None else int(bos.contents()),
    )


# ---------------------------------------------------------------- tokenizer


def tokenize_ids(args, text_or_file, *, stdin_text=None, parse_special=True, add_bos=False):
    """llama-tokenize ids. `-f` reads the file byte for byte in this version
    (tools/tokenize/tokenize.cpp); `--no-escape` keeps backslashes literal."""
    cmd = [str(args.bin / "llama-tokenize"), "-m", str(args.model), "--ids", "--log-disable", "--no-escape"]
    if not parse_special:
        cmd.append("--no-parse-special")
    if not add_bos:
        cmd.append("--no-bos")
    if stdin_text is not None:
        out = run(cmd + ["--stdin"], input=stdin_text)
    else:
        out = run(cmd + ["-f", str(text_or_file)])
    line = out.stdout.strip().splitlines()[-1]
    return json.loads(line)


def tokenizer_goldens(args, reference):
    corpus = sorted(p for p in (args.golden / "tokenizer/corpus").glob("*") if p.is_file())
    files = corpus + [args.golden / "texts/gpl-3.txt"]
    for path in files:
        ids = tokenize_ids(args, path)
        write_json(
            args.golden / f"tokenizer/llamacpp/{path.stem}.json",
            {
                "reference": reference,
                "input": str(path.relative_to(args.golden)),
                "input_sha256": sha256_file(path),
                "command": "llama-tokenize -m MODEL -f INPUT --ids --log-disable --no-escape --no-bos",
                "notes": "file read byte for byte (no newline stripping, no escape processing); "
                "special-token text such as <|im_start|> parsed as special (llama-tokenize's "
                "default, parse_special=true); no BOS added (--no-bos; the model's "
                "add_bos_token is false anyway)",
                "parse_special": True,
                "add_bos": False,
                "n_tokens": len(ids),
                "ids": ids,
            },
        )


# ---------------------------------------------------------------- generation


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, path, body):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=300) as resp:
        return json.load(resp)


def wait_healthy(port, server, log_path):
    for _ in range(240):
        if server.poll() is not None:
            raise SystemExit(f"llama-server exited early; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"llama-server did not become healthy; see {log_path}")


def generate_goldens(args, reference, add_bos, bos_id, model=None, extra=(), out="generate/greedy.json"):
    """Greedy generations from llama-server. With `model`/`extra`, the same on
    another file or with other server flags (the F32 variant)."""
    model = model or args.model
    port = free_port()
    log_path = args.ref_root / "llama-server.log"
    cmd = [
        str(args.bin / "llama-server"), "-m", str(model), "--host", "127.0.0.1",
        "--port", str(port), "-t", THREADS, "-c", "2048", "-np", "1", "--no-warmup", *extra,
    ]
    with open(log_path, "w") as log:
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(port, server, log_path)
        cases = []
        for prompt in PROMPTS:
            # The same tokenization /completion uses: add_special=true,
            # parse_special=true (tools/server/server-context.cpp).
            prompt_ids = post(port, "/tokenize", {"content": prompt, "add_special": True, "parse_special": True})["tokens"]
            cli_ids = tokenize_ids(args, None, stdin_text=prompt, add_bos=True)
            assert prompt_ids == cli_ids, (prompt, prompt_ids, cli_ids)
            r = post(port, "/completion", {
                "prompt": prompt, "n_predict": N_PREDICT, "temperature": 0, "top_k": 1,
                "repeat_penalty": 1.0, "return_tokens": True, "n_probs": N_PROBS,
                "cache_prompt": False, "post_sampling_probs": False,
            })
            assert r["tokens_evaluated"] == len(prompt_ids), r["tokens_evaluated"]
            probs = r["completion_probabilities"]
            assert [p["id"] for p in probs] == r["tokens"]
            cases.append({
                "prompt": prompt,
                "prompt_ids": prompt_ids,
                "ids": r["tokens"],
                "text": r["content"],
                "pieces": [p["token"] for p in probs],
                "stop_type": r["stop_type"],
                # Natural-log softmax over the full vocabulary, before sampling,
                # for each generated position: the chosen token, then the top 5.
                "logprobs": [p["logprob"] for p in probs],
                "top": [
                    [{"id": t["id"], "logprob": t["logprob"], "prob": math.exp(t["logprob"])} for t in p["top_logprobs"]]
                    for p in probs
                ],
            })
        write_json(args.golden / out, {
            "reference": reference,
            "command": f"llama-server -m MODEL --host 127.0.0.1 --port PORT -t {THREADS} -c 2048 -np 1 --no-warmup {' '.join(extra)}; "
                       "POST /tokenize and /completion per prompt",
            "request": {"n_predict": N_PREDICT, "temperature": 0, "top_k": 1, "repeat_penalty": 1.0,
                        "n_probs": N_PROBS, "cache_prompt": False, "post_sampling_probs": False},
            "notes": "raw prompts, no chat template. temperature 0 => greedy (argmax of logits). "
                     "prompt_ids: llama.cpp's tokenization with add_special=true, parse_special=true "
                     "(a BOS is prepended only if add_bos_token is true). Generation may stop "
                     "early at an end-of-generation token (stop_type 'eos'); 'limit' means 32.",
            "add_bos_token": add_bos,
            "bos_token_id": bos_id,
            "cases": cases,
        })
    finally:
        server.terminate()
        server.wait(timeout=30)


# ---------------------------------------------------------------- perplexity

PPL_PROTOCOL = {
    "source": "tools/perplexity/perplexity.cpp at reference.llama_cpp_commit: perplexity() lines 442-653, process_logits() 109-142, main() 2002-2015. Line numbers are for that commit",
    "input": "the -f file is read whole and ONE trailing '\\n' is removed (common/arg.cpp, -f/--file handler, lines 1807-1809); llama-perplexity sets escape=false, so no escape processing",
    "tokenization": "common_tokenize(ctx, text, add_special=true) with parse_special=false (its default in common/common.h) (perplexity.cpp line 473): a BOS is prepended to the whole text only if add_bos_token is true",
    "chunks": "n_chunk = floor(n_tokens / n_ctx) non-overlapping chunks tokens[i*n_ctx .. (i+1)*n_ctx]; the tail is dropped (lines 491-493)",
    "kv_cache": "cleared before every chunk (llama_memory_clear, line 551): each chunk is scored independently, positions 0..n_ctx-1",
    "bos_per_chunk": "if add_bos_token, the FIRST token of each chunk is REPLACED (not inserted) by BOS for evaluation, then restored (lines 566-579); with add_bos_token=false (this model) nothing is replaced",
    "scoring": "first = n_ctx/2 (line 540). Logits are taken at positions first .. n_ctx-2 and score the next token: for i in 0..n_ctx-1-first, nll += -log_softmax(logits[first+i])[tokens[first+i+1]] (lines 606-622 and process_logits, lines 109-142; log_softmax lines 60-70: max-subtracted, sum of expf accumulated in double). So n_ctx - first - 1 tokens per chunk (63 for n_ctx=128, 255 for n_ctx=512)",
    "ppl": "running value after chunk k = exp(sum nll / count) over chunks 1..k; final PPL = exp(mean nll); +/- = PPL * sqrt((mean(nll^2) - mean(nll)^2) / (count - 1)) (lines 641-647)",
    "batching": "we pass -b n_ctx so n_batch = n_ctx and n_seq = max(1, n_batch/n_ctx) = 1: one chunk per decode (main(), lines 2012-2015: with the default -b 2048, n_ctx=128 would run 16 chunks side by side in one 2048 context). n_ubatch is the default 512",
}


def perplexity_goldens(args, reference, add_bos, model=None, contexts=PPL_CONTEXTS, out_name="perplexity/gpl3_ctx{n_ctx}.json"):
    """llama-perplexity on the GPL-3 text; with `model`/`contexts`/`out_name`, the
    same on another file (tokenized with args.model, which must share its vocabulary)."""
    model = model or args.model
    text_path = args.golden / "texts/gpl-3.txt"
    text = text_path.read_text()
    if text.endswith("\n"):
        text = text[:-1]  # what the -f handler does
    n_tokens = len(tokenize_ids(args, None, stdin_text=text, parse_special=False, add_bos=True))
    for n_ctx in contexts:
        cmd = [str(args.bin / "llama-perplexity"), "-m", str(model), "-f", str(text_path),
               "-c", str(n_ctx), "-b", str(n_ctx), "-t", THREADS]
        out = run(cmd)
        log = out.stdout + out.stderr
        (args.ref_root / f"llama-perplexity-ctx{n_ctx}.log").write_text(log)
        m = re.search(r"calculating perplexity over (\d+) chunks, n_ctx=(\d+), batch_size=(\d+), n_seq=(\d+)", log)
        n_chunks, ctx_seen, batch, n_seq = map(int, m.groups())
        assert (ctx_seen, batch, n_seq) == (n_ctx, n_ctx, 1), m.group(0)
        running = [float(v) for _, v in re.findall(r"\[(\d+)\]([0-9.]+),", log)]
        assert len(running) == n_chunks, (len(running), n_chunks)
        final = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
        assert n_chunks == n_tokens // n_ctx, (n_chunks, n_tokens, n_ctx)
        scored = n_chunks * (n_ctx - n_ctx // 2 - 1)
        write_json(args.golden / out_name.format(n_ctx=n_ctx), {
            "reference": reference,
            "command": f"llama-perplexity -m MODEL -f texts/gpl-3.txt -c {n_ctx} -b {n_ctx} -t {THREADS}",
            "text": "texts/gpl-3.txt",
            "text_sha256": sha256_file(text_path),
            "n_ctx": n_ctx,
            "n_batch": n_ctx,
            "n_seq": n_seq,
            "add_bos_token": add_bos,
            "n_tokens": n_tokens,
            "n_chunks": n_chunks,
            "scored_tokens_per_chunk": n_ctx - n_ctx // 2 - 1,
            "scored_tokens": scored,
            "ppl": float(final.group(1)),
            "ppl_plus_minus": float(final.group(2)),
            "running_ppl_per_chunk": running,
            "precision_note": "llama.cpp prints 4 decimals; nll is summed by worker threads in arbitrary order",
            "protocol": PPL_PROTOCOL,
        })


def llamacpp_reference(ref_root, tool, generated_by):
    """The "reference" block of a golden file: which llama.cpp, built how
    (VERSION.json of scripts/reference/build_llamacpp.sh), and `tool`'s own
    version line."""
    version = json.loads((ref_root / "VERSION.json").read_text())
    cli_version = run([str(tool), "--version"]).stderr.strip().splitlines()
    return {
        "tool": "llama.cpp",
        "llamacpp_version": cli_version[0].removeprefix("version: ") if cli_version else "unknown",
        "llama_cpp_commit": version["llama_cpp_commit"],
        "source": f"vendor/llama.cpp of the llama-cpp-python {version['llama_cpp_python']} sdist",
        "ggml_version": version["ggml_version"],
        "build_flags": version["cmake_flags"],
        "generated_by": generated_by,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", type=Path, required=True)
    ap.add_argument("--ref-root", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--golden", type=Path, required=True)
    ap.add_argument("--only", choices=["tokenizer", "generate", "perplexity"])
    args = ap.parse_args()

    add_bos, bos_id = gguf_add_bos(args.model, args.ref_root / "src")
    reference = dict(llamacpp_reference(args.ref_root, args.bin / "llama-tokenize", "scripts/golden_llamacpp.sh"), model={
        "file": args.model.name,
        "sha256": sha256_file(args.model),
        "add_bos_token": add_bos,
    })
    if args.only in (None, "tokenizer"):
        tokenizer_goldens(args, reference)
    if args.only in (None, "generate"):
        generate_goldens(args, reference, add_bos, bos_id)
        # The same model with every tensor dequantized to F32 and an F32 KV
        # cache: llama.cpp then does no 8-bit activation quantization, so it
        # computes what our plain f32 path computes.
        f32_model = args.ref_root.parent / (args.model.stem.rsplit(".", 1)[0] + ".F32.gguf")
        run([sys.executable, str(Path(__file__).parent / "reference/dequantize_gguf_f32.py"), str(args.model), str(f32_model)])
        f32_reference = dict(reference, model=dict(reference["model"], dequantized_to_f32_by="scripts/reference/dequantize_gguf_f32.py (gguf-py)",
                                                   f32_sha256=sha256_file(f32_model)))
        generate_goldens(args, f32_reference, add_bos, bos_id, model=f32_model,
                         extra=("-ctk", "f32", "-ctv", "f32", "-fa", "off"), out="generate/greedy_f32.json")
    if args.only in (None, "perplexity"):
        perplexity_goldens(args, reference, add_bos)


if __name__ == "__main__":
    main()
