"""The committed client configurations (examples/clients/) against `locallm serve`.

Reads Continue's config.yaml and Open WebUI's settings, checks they point
at `locallm serve`'s default address, and sends, to the test server, the
requests those clients make with them (the shapes of Continue's Ollama
provider, core/llm/llms/Ollama.ts, and of Open WebUI's Ollama router):
/api/show, /api/chat streamed, /api/embed, /api/version, /api/tags.

Run by crates/serve/tests/clients.rs with LOCALLM_URL and LOCALLM_EXAMPLES set.
"""
import json
import os
import re
import urllib.parse
import urllib.request

import yaml

URL = os.environ["LOCALLM_URL"]
EXAMPLES = os.environ["LOCALLM_EXAMPLES"]


def call(base, method, path, body=None):
    """One request as the clients make it; the base URL's host and port
    are the test server's (the config names the default address)."""
    url = urllib.parse.urljoin(URL + "/", path)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200, (path, response.status)
        return response.headers.get("content-type"), response.read().decode()


def ndjson(text):
    objects = [json.loads(line) for line in text.split("\n") if line.strip()]
    assert all("error" not in o for o in objects), objects
    assert objects[-1]["done"] is True and all(not o["done"] for o in objects[:-1])
    return objects


# ---- Continue: config.yaml, provider "ollama" ----
with open(os.path.join(EXAMPLES, "continue", "config.yaml")) as f:
    config = yaml.safe_load(f)
assert config["schema"] == "v1" and config["name"] and config["version"]
chat = next(m for m in config["models"] if "chat" in m["roles"])
embed = next(m for m in config["models"] if "embed" in m["roles"])
for model in (chat, embed):
    assert model["provider"] == "ollama", model
    host = urllib.parse.urlsplit(model["apiBase"])
    assert (host.hostname, host.port) in (("localhost", 8080), ("127.0.0.1", 8080)), model

name = chat["model"]
options = chat["defaultCompletionOptions"]
# on start, Continue asks /api/show with the field's old name and reads num_ctx
_, body = call(chat["apiBase"], "POST", "api/show", {"name": name})
shown = json.loads(body)
params = {}
for line in shown["parameters"].split("\n"):
    parts = re.match(r'^(\S+)\s+((?:".*")|\S+)$', line)
    params[parts[1]] = parts[2]
assert int(params["num_ctx"]) == options["contextLength"], (params, options)
# no ".Suffix" in the template: Continue does not try fill-in-the-middle
assert ".Suffix" not in shown["template"]

# a chat turn: the options Continue maps from defaultCompletionOptions (keys
# it leaves undefined are not sent: JSON.stringify drops them), stream unset
request = {
    "model": name,
    "messages": [{"role": "system", "content": "You are a helpful coding assistant."},
                 {"role": "user", "content": "Write a Python function that adds two numbers."}],
    "options": {"temperature": options["temperature"], "top_p": options["topP"],
                "top_k": options["topK"], "num_predict": options["maxTokens"],
                "num_ctx": options["contextLength"]},
    "keep_alive": 60 * 30,
}
content_type, body = call(chat["apiBase"], "POST", "api/chat", request)
assert content_type == "application/x-ndjson", content_type
objects = ndjson(body)
answer = "".join(o["message"]["content"] for o in objects)
assert answer.strip() and objects[-1]["eval_count"] <= options["maxTokens"], objects[-1]

# the embed role: chunks in, one vector each
_, body = call(embed["apiBase"], "POST", "api/embed",
               {"model": embed["model"], "input": ["def add(a, b):", "return a + b"]})
vectors = json.loads(body)["embeddings"]
assert len(vectors) == 2 and len(vectors[0]) > 0

# listModels: /api/tags, by name
_, body = call(chat["apiBase"], "GET", "api/tags")
assert name in [m["name"] for m in json.loads(body)["models"]]

# ---- Open WebUI: its settings (an env file) ----
settings = {}
with open(os.path.join(EXAMPLES, "open-webui", "open-webui.env")) as f:
    for line in f:
        line = line.strip()
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings[key] = value
base = settings["OLLAMA_BASE_URL"]
host = urllib.parse.urlsplit(base)
assert (host.hostname, host.port) in (("localhost", 8080), ("127.0.0.1", 8080)), base
assert settings["ENABLE_OPENAI_API"] == "false"

# the connection check, the model picker, the model's details
_, body = call(base, "GET", "api/version")
assert json.loads(body)["version"]
_, body = call(base, "GET", "api/tags")
picked = json.loads(body)["models"][0]
assert picked["model"] == name and picked["details"]["format"] == "gguf", picked
_, body = call(base, "POST", "api/show", {"model": picked["model"]})
assert json.loads(body)["details"] == picked["details"]

# a chat: streamed, no options unless the user sets some
_, body = call(base, "POST", "api/chat", {
    "model": picked["model"], "stream": True,
    "messages": [{"role": "user", "content": "Say hello in French."}],
    "options": {"num_predict": 16},
})
objects = ndjson(body)
assert "".join(o["message"]["content"] for o in objects).strip()
# the chat title, asked for whole
_, body = call(base, "POST", "api/chat", {
    "model": picked["model"], "stream": False,
    "messages": [{"role": "user", "content": "Give a three-word title for: Say hello in French."}],
    "options": {"num_predict": 8},
})
assert json.loads(body)["message"]["content"].strip()
print("client configs: ok")
