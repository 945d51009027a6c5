#!/usr/bin/env python3
"""BM25 scores from the `bm25s` package (method "lucene", k1=1.5, b=0.75),
on the paragraphs of a committed text, for crates/rag/tests/bm25.rs.

The terms are made here the way locallm_rag::tokenize makes them (lowercase
runs of letters and digits: Python's str.isalnum agrees with Rust's
char::is_alphanumeric on this ASCII text) and given to bm25s already split,
so the test compares ranking functions, not tokenizers.

    pip install bm25s==0.3.16 numpy
    python3 scripts/golden_bm25.py > tests/golden/rag/bm25_gpl3.json
"""
import json
import re

import bm25s
import numpy as np
from golden_check import keep_check

text = open("tests/golden/texts/gpl-3.txt", encoding="utf-8").read()
paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def tokenize(s):
    words, cur = [], []
    for ch in s:
        if ch.isalnum():
            cur.append(ch)
        elif cur:
            words.append("".join(cur).lower())
            cur = []
    if cur:
        words.append("".join(cur).lower())
    return words


docs = [tokenize(p) for p in paragraphs]
retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
retriever.index(docs, show_progress=False)
queries = [
    "source code of the work",
    "conveying verbatim copies",
    "installation information user product",
    "patent license",
    "no warranty",
    "termination of your rights",
    "the free software foundation",
    "automatic licensing of downstream recipients",
]
out = {"source": "bm25s " + bm25s.__version__ + " method=lucene k1=1.5 b=0.75",
       "n_docs": len(docs), "queries": []}
for q in queries:
    scores = retriever.get_scores(tokenize(q))
    top = np.argsort(-scores, kind="stable")[:10]
    out["queries"].append({"query": q, "top": [[int(i), float(scores[i])] for i in top]})
print(json.dumps(keep_check("tests/golden/rag/bm25_gpl3.json", out), indent=1))
