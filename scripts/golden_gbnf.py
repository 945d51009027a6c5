#!/usr/bin/env python3
"""llama.cpp's verdicts on GBNF grammars, for crates/infer/tests/gbnf_golden.rs
and crates/cli/tests/grammar.rs. Called by scripts/golden_gbnf.sh, which
builds scripts/reference/gbnf.cpp (our program, linked against the
reference llama.cpp build). Writes tests/golden/gbnf/:

  verdicts.json   per grammar (scripts/gbnf/*.gbnf and the small ones
                  below, all ours), per text: complete | prefix | reject;
                  bad grammars: refused
  masks.json      per (grammar, text): the tokens of the default model's
                  vocabulary llama.cpp's grammar sampler allows next
  generate.json   greedy generation under a grammar on the default model
                  dequantized to F32, with an F32 KV cache

The grammars' text is stored in the goldens so that the tests run offline.
scripts/gbnf/ holds one grammar per feature of the format: recursion
through rules (arithmetic), escapes and nested values (json, json_arr),
counted repetition {m,n} (chess), alternatives and comments (c), character
classes (english, list), non-ASCII ranges and \\u escapes (japanese).
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

from golden_llamacpp import llamacpp_reference, run, sha256_file, tokenize_ids, write_json

FILES = Path(__file__).resolve().parent / "gbnf"

SMALL = {
    "yes_no": 'root ::= "yes" | "no"\n',
    "bounded": 'root ::= [a-c]{2,4} "-" x{3} "!"?\nx ::= [0-9]\n',
    "utf8": 'root ::= [é-ë] "→" [^a-z]+ .\n',
    "escapes": 'root ::= "\\x41\\u00e9\\U0001F600" [\\t\\n\\\\\\"\\[\\]\\-]* # a comment\n',
    "nested": 'root ::= ("(" (root | "x") ")")+\n',
}

TEXTS = {
    "arithmetic": ["x = 1+2\n", "a = (b - 3) * c\ny = -x / 2.5\n", "x = ", "x = 1+\n", "x=1\n",
                   "x = ((1)\n", "v_2 = 10.5*w\n", "X = 1\n", "1 = 2"],
    "c": ["int main(){return 0;}", "void f(int x, char y){x = x+1;}", "int f(){", "int 1(){}",
          "int f(){while(a<b){a=f(a, 1);}}", "int f(){/* c */}", "int f(){// c\n}",
          "int f(){if(a==b){}else{return;}}", "int f(){ int x = 2; }\n", "int f(){/* a ** b */x=1;}"],
    "chess": ["1. e4 e5\n2. Nf3 Nc6\n", "1. e4\n", "12. O-O-O Qxd8+\n13. a8=Q Kh1#\n", "1. e9 e5\n",
              "1. e4 e5\n2. ", "1. a3\n2. a4\n3. a5\n4. a6\n5. a7\n", "1000. e4\n", "1. exd5 Rae1\n"],
    "english": ["Hello, world!", "Two  spaces.", "It's a well-known fact; ok?", "Hello", "naïve.",
                "lower case.", "One. Two!", "Hi!\n"],
    "japanese": ["こんにちは", "カタカナ\u3000漢字", "日本語、です。", "abc", "こん", "「はい」\nいいえ。", "々",
                 "日本 語"],
    "json": ['{"a": 1}', '{"a": [1, 2.5e3, true, null], "b": {"c": "d\\n"}}', '{}', '{"a": 01}',
             '{"a": "\\u00e9"}', '{"a" 1}', '[1]', '{"a": "é"}', '{"a": 1} ', '{"a":', '{"a": "\\x"}',
             '{"a": -0.5E-2}', '{"a": "\t"}'],
    "json_arr": ['[\n1,\n2\n]', '[\n{"a": []}]', '[1]', '[]', '[\n"x",\n', '[\n-1.5,\n"a\\"b",\n[1, [2]]\n]',
                 '[\ntrue,\nnul'],
    "list": ["- a\n", "- one\n* two words\n", "-  \n", "- a", "+ a\n", "- é ü\n", "- a  b\n"],
    "yes_no": ["yes", "no", "y", "yess", "", "No"],
    "bounded": ["ab-123", "abcc-123!", "a-123", "abcca-123", "ab-12", "ab-1234", "ab-123!!"],
    "utf8": ["é→XY.", "ë→ÉÀ€", "e→X.", "é→a.", "é→", "é→😀😀"],
    "escapes": ["Aé😀", "Aé😀\t\n\\\"[]-", "Aé😀x", "A"],
    "nested": ["(x)", "((x))(x)", "(()", "((x)", "()", "(x))"],
}

# grammars llama.cpp refuses: ours must refuse them too
BAD = {
    "no_root": 'expr ::= "a"\n',
    "undefined": 'root ::= foo\n',
    "left_recursion": 'root ::= root "a" | "b"\n',
    "unterminated_string": 'root ::= "abc\n',
    "unterminated_class": 'root ::= [abc\n',
    "bad_escape": 'root ::= "\\q"\n',
    "short_hex": 'root ::= "\\x4"\n',
    "missing_assign": 'root = "a"\n',
    "dangling_star": 'root ::= * "a"\n',
    "unclosed_group": 'root ::= ("a" "b"\n',
    "bad_repetition": 'root ::= "a"{x}\n',
    "two_rules_one_line": 'root ::= "a" b ::= "c"\n',
    "alternative_on_next_line": 'root ::= "a"\n  | "b"\n',
}

# (grammar, text so far): the next-token masks on the real vocabulary;
# after "- " list's negated class with U+2028 decides the tokens that end
# inside a character (llama_grammar_match_partial_char)
MASKS = [("yes_no", ""), ("json", ""), ("json", '{"a": '), ("json", '{"name": "'),
         ("list", "- "), ("arithmetic", "x = "), ("japanese", ""), ("japanese", "日本"),
         ("english", "Hello"), ("utf8", "é→"), ("chess", "1. e4 "), ("yes_no", "yes")]

# greedy generation: (grammar, raw prompt, max tokens)
GENERATE = [
    ("yes_no", "Question: Is Paris the capital of France? Answer (yes or no):", 4),
    ("json", "A JSON object describing a cat with a name and an age:\n", 48),
    ("list", "Three fruits, as a list:\n", 32),
    ("arithmetic", "Three equations, one per line:\nx = 2 * 3\n", 32),
]


def hexlines(texts):
    return "".join(t.encode().hex() + "\n" for t in texts)


def ref(args, *cmd, texts=None):
    out = subprocess.run([str(args.gbnf), *map(str, cmd)], input=None if texts is None else hexlines(texts),
                         capture_output=True, text=True)
    if out.returncode not in (0, 3):
        sys.exit(f"{cmd}: {out.stderr}")
    return out.stdout.splitlines()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref-root", type=Path, required=True)
    ap.add_argument("--gbnf", type=Path, required=True, help="the built scripts/reference/gbnf.cpp")
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--f32-model", type=Path, required=True)
    ap.add_argument("--golden", type=Path, required=True)
    args = ap.parse_args()
    args.bin = args.ref_root / "build/bin"

    reference = dict(llamacpp_reference(args.ref_root, args.bin / "llama-tokenize", "scripts/golden_gbnf.sh"),
                     program="scripts/reference/gbnf.cpp (ours): llama_grammar_init_impl, llama_grammar_accept_str, "
                             "llama_grammar_apply_impl, llama_sampler_init_grammar of that build's static libllama")
    grammars = {p.stem: p.read_text() for p in sorted(FILES.glob("*.gbnf"))}
    grammars.update(SMALL)
    paths = {}
    for name, text in grammars.items():
        paths[name] = Path("/tmp") / f"locallm-gbnf-{name}.gbnf"
        paths[name].write_text(text)

    verdicts = {}
    for name, texts in TEXTS.items():
        out = ref(args, "verdicts", paths[name], texts=texts)
        verdicts[name] = {"grammar": grammars[name], "source": f"ours: scripts/gbnf/{name}.gbnf" if (FILES / f"{name}.gbnf").exists()
                          else "ours: scripts/golden_gbnf.py",
                          "texts": [{"text": t, "verdict": v} for t, v in zip(texts, out, strict=True)]}
    bad = {}
    for name, text in BAD.items():
        p = Path("/tmp") / f"locallm-gbnf-bad-{name}.gbnf"
        p.write_text(text)
        out = ref(args, "verdicts", p, texts=[])
        if out != ["error"]:
            sys.exit(f"llama.cpp accepts the bad grammar {name}: {out}")
        bad[name] = text
    write_json(args.golden / "gbnf/verdicts.json", {
        "check": {"concept": "GBNF parsing and matching", "reference": "llama.cpp's grammar engine (src/llama-grammar.cpp)",
                  "tolerance": "exact verdicts",
                  "why": "a grammar engine has one right answer per text: complete, a prefix of a match, or rejected",
                  "test": "crates/infer/tests/gbnf_golden.rs"},
        "reference": reference, "grammars": verdicts, "refused": bad})

    masks = []
    for name, text in MASKS:
        [line] = ref(args, "mask", args.model, paths[name], texts=[text])
        _, eog, _, ids = line.split(" ")
        masks.append({"grammar": name, "text": text, "eog": eog == "1", "ids": ids})
    model_ref = {"file": args.model.name, "sha256": sha256_file(args.model)}
    write_json(args.golden / "gbnf/masks.json", {
        "check": {"concept": "GBNF token masks over the default model's vocabulary",
                  "reference": "llama_grammar_apply_impl after llama_grammar_accept_str(text)",
                  "tolerance": "the same allowed ids among normal tokens (control tokens are never text here)",
                  "why": "the mask is a set of token ids computed from the same grammar and vocabulary; nothing is numeric",
                  "test": "crates/infer/tests/gbnf_golden.rs"},
        "reference": dict(reference, model=model_ref), "grammars": {n: grammars[n] for n, _ in MASKS}, "cases": masks})

    cases = []
    for name, prompt, n in GENERATE:
        ids = tokenize_ids(args, None, stdin_text=prompt, parse_special=False)
        line, text = ref(args, "generate", args.f32_model, paths[name], n, ",".join(map(str, ids)))
        out = [int(t) for t in line.split(",") if t]
        cases.append({"grammar": name, "prompt": prompt, "prompt_ids": ids, "max_tokens": n, "ids": out,
                      "text": bytes.fromhex(text).decode()})
    write_json(args.golden / "gbnf/generate.json", {
        "check": {"concept": "greedy generation under a GBNF grammar",
                  "reference": "llama.cpp grammar sampler + greedy, f32 KV cache, flash attention off",
                  "tolerance": "the same token ids",
                  "why": "llama.cpp multiplies Q4_1 weights by Q8_1-quantized activations; ours keeps f32 "
                         "activations, so the reference runs the F32-dequantized model",
                  "test": "crates/cli/tests/grammar.rs"},
        "reference": dict(reference, model=dict(model_ref, dequantized_to_f32_by="scripts/reference/dequantize_gguf_f32.py (gguf-py)",
                                                f32_sha256=sha256_file(args.f32_model))),
        "grammars": {n: grammars[n] for n, _, _ in GENERATE}, "cases": cases})


if __name__ == "__main__":
    main()
