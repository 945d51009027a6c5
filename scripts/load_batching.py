#!/usr/bin/env python3
"""Continuous batching under load: `locallm serve` against `llama-server
--parallel 8 -cb` on the same GGUF file with the same threads, at 1, 4, 8 and
16 concurrent streaming clients (chapter 18, issue "continuous batching").

usage: load_batching.py [--locallm BIN] [--llama-server BIN] [--model GGUF]
                        [--threads 2] [--slots 8] [--max-tokens 64]
                        [--clients 1,4,8,16] [--out book/src/figures/batching]

Each client sends one streamed chat request (its own fixed question, greedy,
`max_tokens`) and times it: time to first token (TTFT), and its decode rate,
generated tokens over the time from its first token to its last. The
aggregate is every client's tokens over the wall time from the first request
sent to the last answer complete. Both servers get the same requests, one
server at a time; a warm-up request first (its numbers are not kept). Writes
OUT.json (every client's numbers, the host, the other work on its cores) and OUT.md
(the table the book includes). Standard library only.

A machine with other work on its cores changes every number: run it on a
quiet machine (`just load-batching`); the JSON records how many cores other
programs kept busy during each server's run (scripts/host_load.py), and a
run where that passed half a core is marked as such in the table.
"""
import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time

from host_load import OtherWork

QUESTIONS = [
    "Write a short story about a dragon who learns to cook.",
    "Explain how a bicycle stays upright.",
    "Describe the water cycle to a child.",
    "What are the main causes of the seasons on Earth?",
    "Write a poem about the sea at night.",
    "How does a refrigerator keep food cold?",
    "Give advice to someone learning to play the piano.",
    "Describe a walk through a forest in autumn.",
    "Why is the sky blue?",
    "Explain what a computer program is.",
    "Write a letter to a friend about a trip to the mountains.",
    "How do bees make honey?",
    "Describe the life of a lighthouse keeper.",
    "What makes a good breakfast?",
    "Explain how rain forms in clouds.",
    "Tell the story of a lost cat finding its way home.",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("the server did not become ready")


def stream_chat(port, model, question, max_tokens):
    """One streamed chat request: (ttft, seconds, tokens)."""
    body = json.dumps({
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    })
    sent = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"status {resp.status}: {resp.read()[:300]!r}")
    first = last = None
    pieces, usage = 0, None
    for raw in resp:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices", []):
            if (choice.get("delta") or {}).get("content"):
                now = time.perf_counter()
                first = first or now
                last = now
                pieces += 1
    conn.close()
    # the usage's count when the server sends one; else one token per piece
    tokens = usage["completion_tokens"] if usage else pieces
    return {
        "ttft_s": first - sent,
        "decode_s": last - first,
        "total_s": last - sent,
        "tokens": tokens,
    }


def run_clients(port, model, n, max_tokens):
    results = [None] * n
    barrier = threading.Barrier(n)

    def client(i):
        barrier.wait()
        results[i] = stream_chat(port, model, QUESTIONS[i % len(QUESTIONS)], max_tokens)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    for r in results:
        # a client's decode rate: its tokens after the first, over their time
        r["tok_s"] = (r["tokens"] - 1) / r["decode_s"] if r["decode_s"] > 0 else None
    tokens = sum(r["tokens"] for r in results)
    rates = [r["tok_s"] for r in results if r["tok_s"]]
    return {
        "clients": n,
        "wall_s": wall,
        "tokens": tokens,
        "aggregate_tok_s": tokens / wall,
        "per_client_tok_s": sum(rates) / len(rates) if rates else None,
        "ttft_s": sum(r["ttft_s"] for r in results) / n,
        "requests": results,
    }


def measure(name, cmd, port, model_id, clients, max_tokens, rounds):
    print(f"{name}: {' '.join(cmd)}", file=sys.stderr)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, proc)
        stream_chat(port, model_id, QUESTIONS[0], 8)  # warm-up
        rows = []
        for n in clients:
            # a round is a few seconds: the median of several, each kept
            runs = [run_clients(port, model_id, n, max_tokens) for _ in range(rounds)]
            row = sorted(runs, key=lambda r: r["aggregate_tok_s"])[len(runs) // 2]
            row["rounds_aggregate_tok_s"] = [r["aggregate_tok_s"] for r in runs]
            print(f"  {n:2} clients: {row['aggregate_tok_s']:7.1f} tok/s aggregate "
                  f"(median of {rounds}: {', '.join(f'{r:.1f}' for r in row['rounds_aggregate_tok_s'])}), "
                  f"{row['per_client_tok_s']:6.1f} per client, TTFT {row['ttft_s']:.2f} s",
                  file=sys.stderr)
            rows.append(row)
        return rows
    finally:
        proc.terminate()
        proc.wait()


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def version(cmd):
    """The line of `cmd`'s output that names its version."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (out.stdout + out.stderr).strip().splitlines()
    return next((l for l in lines if "version" in l.lower()), lines[0] if lines else None)


def table(report):
    ours = {r["clients"]: r for r in report["locallm"]}
    theirs = {r["clients"]: r for r in report["llama_server"]}
    h = report["host"]
    lines = []
    if h["loaded"]:
        lines += ["**Measured on a loaded machine** (other programs kept more than half a "
                  "core busy): these speeds are lower bounds and the two servers may not have "
                  "seen the same load.", ""]
    lines += [
        f"| clients | locallm aggregate tok/s | per client | TTFT s | "
        f"llama-server aggregate tok/s | per client | TTFT s | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in report["clients"]:
        a, b = ours[n], theirs[n]
        lines.append(
            f"| {n} | {a['aggregate_tok_s']:.1f} | {a['per_client_tok_s']:.1f} | {a['ttft_s']:.2f} "
            f"| {b['aggregate_tok_s']:.1f} | {b['per_client_tok_s']:.1f} | {b['ttft_s']:.2f} "
            f"| {a['aggregate_tok_s'] / b['aggregate_tok_s']:.2f} |")
    lines += [
        "",
        f"{h['cpu']}, {report['threads']} threads, {report['model']}, greedy chat answers of "
        f"up to {report['max_tokens']} tokens, one question per client, the median of "
        f"{report.get('rounds', 1)} rounds; locallm "
        f"`--slots {report['slots']}`, llama-server `--parallel {report['slots']} -cb`; "
        f"other programs kept {h['other_work_cores']['locallm']:.2f} and "
        f"{h['other_work_cores']['llama_server']:.2f} of {h['cores']} cores busy during the two "
        f"runs (scripts/load_batching.py).",
    ]
    return "\n".join(lines) + "\n"


def main():
    home = os.path.expanduser("~")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--locallm", default="target/release/locallm")
    ap.add_argument("--llama-server",
                    default=f"{home}/.cache/locallm-ref/llama.cpp-0.3.36/build/bin/llama-server")
    ap.add_argument("--model",
                    default=f"{home}/.cache/locallm/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--ctx", type=int, default=1024, help="context per slot")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--clients", default="1,4,8,16")
    ap.add_argument("--rounds", type=int, default=3,
                    help="runs per client count; the median aggregate is reported")
    ap.add_argument("--out", default="book/src/figures/batching")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    model_id = os.path.basename(args.model).removesuffix(".gguf")
    t, port = str(args.threads), free_port()
    ours = [args.locallm, "serve", "-m", args.model, "--port", str(port), "-t", t,
            "--slots", str(args.slots), "--parallel", str(4 * max(clients)),
            "--ctx", str(args.ctx), "--quiet"]
    # llama-server splits its context over the slots: the same context per slot
    theirs = [args.llama_server, "-m", args.model, "--port", str(port), "-t", t, "-tb", t,
              "--parallel", str(args.slots), "-cb", "-c", str(args.ctx * args.slots),
              "--alias", model_id]
    report = {
        "model": os.path.basename(args.model),
        "threads": args.threads,
        "slots": args.slots,
        "ctx_per_slot": args.ctx,
        "max_tokens": args.max_tokens,
        "clients": clients,
        "rounds": args.rounds,
        "host": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "kernel": platform.release(),
        },
        "versions": {
            "locallm": version([args.locallm, "--version"]),
            "locallm_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                             capture_output=True, text=True).stdout.strip(),
            "llama_server": version([args.llama_server, "--version"]),
        },
        "measured": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
    }
    # as book_models_bench.py: other programs keeping more than half a core
    # busy during a server's run mean the two did not see the same machine
    with OtherWork() as ours_other:
        report["locallm"] = measure("locallm", ours, port, model_id, clients, args.max_tokens,
                                    args.rounds)
    with OtherWork() as theirs_other:
        report["llama_server"] = measure("llama-server", theirs, port, model_id, clients,
                                         args.max_tokens, args.rounds)
    report["host"]["other_work_cores"] = {"locallm": ours_other.cores,
                                          "llama_server": theirs_other.cores}
    report["host"]["loaded"] = ours_other.loaded or theirs_other.loaded
    with open(args.out + ".json", "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    with open(args.out + ".md", "w") as f:
        f.write(table(report))
    print(table(report))


if __name__ == "__main__":
    main()
