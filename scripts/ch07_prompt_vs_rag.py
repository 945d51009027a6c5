#!/usr/bin/env python3
"""Chapter 7: the meeting -> JSON task of chapter 26, prompt-only vs RAG.

    python3 scripts/ch07_prompt_vs_rag.py [--n 20] [--out target/ch07]

Generates chapter 26's seeded data (scripts/lora/meeting_data.py), writes
the 600 training conversations as a text file of solved examples, and asks
`locallm rag ask` the first N held-out sentences twice, greedy, 64 tokens:
with `--no-retrieval` (the instruction alone: prompting) and with the 3
BM25-nearest solved examples in the prompt (retrieval). An answer is right
when its first JSON object equals the expected one. Prints a JSON summary;
every answer goes to OUT/answers.jsonl. The fine-tuned numbers come from
chapter 26 (scripts/lora/worked_example.sh).
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def first_object(text):
    start = text.find("{")
    while start != -1:
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[start:])
            if isinstance(obj, dict):
                return obj
        except json.JSONDecodeError:
            pass
        start = text.find("{", start + 1)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "ch07"))
    ap.add_argument("--locallm", default=os.path.join(ROOT, "target", "debug", "locallm"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    data = os.path.join(args.out, "data")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts/lora/meeting_data.py"), data], check=True)

    def convs(name):
        with open(os.path.join(data, name)) as f:
            return [json.loads(line)["messages"] for line in f if line.strip()]

    # one solved example per paragraph, ~25 words: one chunk each
    examples = os.path.join(args.out, "solved_examples.txt")
    with open(examples, "w") as f:
        for m in convs("train.jsonl"):
            f.write(f"Sentence: {m[1]['content']}\nJSON: {m[2]['content']}\n\n")
    test = convs("test.jsonl")[: args.n]
    rows = []
    totals = {}
    for mode in ["prompt", "rag"]:
        right = parsed = 0
        t0 = time.time()
        for m in test:
            question = f"{m[0]['content']} Answer with the JSON only.\nSentence: {m[1]['content']}"
            cmd = [args.locallm, "rag", "ask", "--docs", examples, "-k", "3",
                   "--chunk-words", "25", "--overlap-words", "0",
                   "--temperature", "0", "--max-tokens", "64", question]
            if mode == "prompt":
                cmd.append("--no-retrieval")
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            answer = out.split("\nSources:")[0].strip()
            got = first_object(answer)
            want = json.loads(m[2]["content"])
            parsed += got is not None
            right += got == want
            rows.append({"mode": mode, "sentence": m[1]["content"], "answer": answer,
                         "expected": want, "right": got == want})
        totals[mode] = {"right": right, "json_object": parsed, "n": len(test),
                        "seconds": round(time.time() - t0, 1)}
    with open(os.path.join(args.out, "answers.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print(json.dumps(totals, indent=2))


if __name__ == "__main__":
    main()
