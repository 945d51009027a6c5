#!/usr/bin/env python3
"""The tool-call parser's golden file: assistant texts as llama.cpp's server parses them.

    bash scripts/reference/build_llamacpp.sh        # once: builds llama-server (and its libraries)
    python3 scripts/golden_tool_calls.py

Writes tests/golden/tool_calls/hermes.json, read offline by
crates/agent/tests/tool_call_golden.rs.

With `--jinja`, llama-server turns a model's answer into OpenAI tool calls in
two steps (tools/server/server-common.cpp and server-task.cpp):
`common_chat_templates_apply` renders the request with the model's chat
template and derives from it a parser for the template's call format
(common/chat.cpp, the "auto parser"), then `common_chat_parse` applies that
parser to the generated text, once more when generation ends
(`is_partial = false`); a text the parser rejects makes the request fail.

A model cannot be made to write a chosen text through the server's chat
endpoint, so this script makes the same two calls directly: it compiles a
twenty-line C++ driver (below, our own code) against the llama.cpp
libraries that scripts/reference/build_llamacpp.sh built, outside the
repository, with the server's defaults for the request (tool_choice auto,
parallel calls as the template supports them, reasoning format deepseek).
The template is NousResearch's Hermes-2-Pro tool-use template, the Hermes
convention SmolLM2 follows, from the llama.cpp sources (models/templates).
"""

import argparse
import hashlib
import json
import subprocess
from pathlib import Path

from golden_llamacpp import llamacpp_reference, run, write_json

ROOT = Path(__file__).resolve().parent.parent
REF = Path.home() / ".cache/locallm-ref/llama.cpp-0.3.36"
OUT = ROOT / "tests" / "golden" / "tool_calls" / "hermes.json"
TEMPLATE = "models/templates/NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja"

DRIVER = r"""
// Parse assistant texts as llama-server --jinja does: the chat template gives
// the parser (common_chat_templates_apply), common_chat_parse applies it.
// argv[1]: chat template file; argv[2]: {"tools": [...], "texts": [...]}.
// Prints the format's name, then one JSON line per text.
#include "chat.h"

#include <fstream>
#include <iostream>
#include <sstream>

static std::string read(const char * path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

int main(int argc, char ** argv) {
    if (argc != 3) {
        return 2;
    }
    common_chat_templates_ptr tmpls = common_chat_templates_init(nullptr, read(argv[1]));
    common_json request = common_json::parse(read(argv[2]));
    auto caps = common_chat_templates_get_caps(tmpls.get());

    common_chat_templates_inputs inputs;
    inputs.messages = common_chat_msgs_parse_oaicompat(common_json::parse(R"([{"role": "user", "content": "Hi"}])"));
    inputs.tools = common_chat_tools_parse_oaicompat(request.at("tools"));
    inputs.tool_choice = COMMON_CHAT_TOOL_CHOICE_AUTO;
    inputs.parallel_tool_calls = caps["supports_parallel_tool_calls"];
    inputs.add_generation_prompt = true;
    inputs.use_jinja = true;
    inputs.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
    common_chat_params params = common_chat_templates_apply(tmpls.get(), inputs);

    common_chat_parser_params parser(params);
    parser.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
    parser.parse_tool_calls = true;
    parser.parser.load(params.parser);

    common_json head = common_json::object();
    head["format"] = std::string(common_chat_format_name(params.format));
    head["parallel_tool_calls"] = inputs.parallel_tool_calls;
    std::cout << head.dump() << "\n";
    const common_json & texts = request.at("texts");
    for (size_t i = 0; i < texts.size(); i++) {
        common_json out = common_json::object();
        try {
            out["message"] = common_chat_parse(texts.at(i).get<std::string>(), false, parser).to_json_oaicompat();
        } catch (const std::exception & e) {
            out["error"] = std::string(e.what());
        }
        std::cout << out.dump() << "\n";
    }
    return 0;
}
"""

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "The current weather in a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "The city's name."},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit."}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "search", "description": "Search the documents.",
        "parameters": {"type": "object", "properties": {
            "query": {"type": "string", "description": "What to look for."},
            "filters": {"type": "object", "description": "Restrictions on the results."},
            "limit": {"type": "integer", "description": "How many results."}},
            "required": ["query"]}}},
]

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
NESTED = ('<tool_call>\n{"name": "search", "arguments": {"query": "tides \\"spring\\" caf\u00e9", '
          '"filters": {"years": [2020, 2021], "tags": {"lang": "en", "draft": false}, "score": -1.5e3, '
          '"owner": null}, "limit": 3}}\n</tool_call>')

# (name, assistant text)
CASES = [
    ("prose only", "Paris is the capital of France."),
    ("one call", CALL),
    ("prose then a call", "Let me check.\n" + CALL),
    ("two calls", CALL + "\n" + CALL.replace("Paris", "Oslo").replace('"Oslo"}', '"Oslo", "unit": "celsius"}')),
    ("nested arguments", NESTED),
    ("compact call", '<tool_call>{"name":"get_weather","arguments":{"city":"Rome"}}</tool_call>'),
    ("arguments before name", '<tool_call>\n{"arguments": {"city": "Lima"}, "name": "get_weather"}\n</tool_call>'),
    ("empty arguments", '<tool_call>\n{"name": "search", "arguments": {}}\n</tool_call>'),
    ("closing tag inside a string", '<tool_call>\n{"name": "search", "arguments": {"query": "</tool_call>"}}\n</tool_call>'),
    ("prose after a call", CALL + "\nDone."),
    ("prose between calls", CALL + "\nAnd then:\n" + CALL.replace("Paris", "Oslo")),
    ("unclosed tag", '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}'),
    ("unclosed JSON", '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"\n</tool_call>'),
    ("bad JSON", '<tool_call>\n{"name": "get_weather", "arguments": {city: Paris}}\n</tool_call>'),
    ("missing name", '<tool_call>\n{"arguments": {"city": "Paris"}}\n</tool_call>'),
    ("missing arguments", '<tool_call>\n{"name": "get_weather"}\n</tool_call>'),
    ("unknown tool", '<tool_call>\n{"name": "delete_files", "arguments": {"path": "/"}}\n</tool_call>'),
    ("arguments not an object", '<tool_call>\n{"name": "get_weather", "arguments": "Paris"}\n</tool_call>'),
    ("empty block", "<tool_call>\n</tool_call>"),
]


def build_driver(out_dir):
    """Compile the driver against the static libraries of the reference build
    (rebuilt only when its source changes)."""
    src_root, build = REF / "src", REF / "build"
    out_dir.mkdir(parents=True, exist_ok=True)
    source = out_dir / "parse_tool_calls.cpp"
    binary = out_dir / "parse_tool_calls"
    digest = hashlib.sha256(DRIVER.encode()).hexdigest()
    stamp = out_dir / "parse_tool_calls.sha256"
    if binary.exists() and stamp.exists() and stamp.read_text() == digest:
        return binary
    source.write_text(DRIVER)
    libs = [build / "common" / "libllama-common.a", build / "common" / "libllama-common-base.a",
            build / "vendor" / "cpp-httplib" / "libcpp-httplib.a", build / "src" / "libllama.a",
            build / "ggml" / "src" / "libggml.a", build / "ggml" / "src" / "libggml-cpu.a",
            build / "ggml" / "src" / "libggml-base.a"]
    libs = [str(p) for p in libs if p.exists()]
    includes = [src_root / "common", src_root / "include", src_root / "ggml" / "include", src_root / "vendor"]
    run(["c++", "-std=c++17", "-O1", str(source), *[f"-I{p}" for p in includes],
         "-Wl,--start-group", *libs, "-Wl,--end-group", "-fopenmp", "-lpthread", "-ldl", "-o", str(binary)])
    stamp.write_text(digest)
    return binary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.parse_args()
    binary = build_driver(REF / "tool-call-driver")
    template = REF / "src" / TEMPLATE
    request = REF / "tool-call-driver" / "request.json"
    request.write_text(json.dumps({"tools": TOOLS, "texts": [text for _, text in CASES]}))
    out = subprocess.run([str(binary), str(template), str(request)], check=True, capture_output=True, text=True)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    head, results = lines[0], lines[1:]
    assert len(results) == len(CASES), (len(results), out.stderr[-2000:])

    cases = []
    for (name, text), r in zip(CASES, results):
        case = {"name": name, "text": text}
        if "error" in r:
            case["llama_cpp"] = {"error": r["error"]}
        else:
            msg = r["message"]
            calls = [{"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}
                     for c in msg.get("tool_calls") or []]
            case["llama_cpp"] = {"content": msg.get("content") or "", "tool_calls": calls}
        print(name, "->", json.dumps(case["llama_cpp"])[:160], flush=True)
        cases.append(case)

    write_json(OUT, {
        "reference": dict(
            llamacpp_reference(REF, REF / "build" / "bin" / "llama-server", "scripts/golden_tool_calls.py"),
            template={"file": TEMPLATE, "sha256": hashlib.sha256(template.read_bytes()).hexdigest()},
            format=head["format"],
            parallel_tool_calls=head["parallel_tool_calls"],
        ),
        "command": "common_chat_templates_apply(Hermes-2-Pro template, tools, tool_choice auto) then "
                   "common_chat_parse(text, is_partial=false): what llama-server --jinja runs on a finished answer",
        "notes": "llama_cpp.error: the parser rejected the text (llama-server then fails the request). "
                 "tool_calls[].arguments: the server's arguments string, parsed as JSON.",
        "tools": TOOLS,
        "cases": cases,
    })


if __name__ == "__main__":
    main()
