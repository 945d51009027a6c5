"""The official `ollama` Python client against `locallm serve`.

Run by crates/serve/tests/ollama.rs with LOCALLM_URL, LOCALLM_KEY,
LOCALLM_MODEL, LOCALLM_CTX and LOCALLM_MODEL_PATH set; exits non-zero (with
a traceback) on the first failure.
"""
import hashlib
import json
import math
import os
import urllib.request

import ollama

URL = os.environ["LOCALLM_URL"]
KEY = os.environ["LOCALLM_KEY"]
MODEL = os.environ["LOCALLM_MODEL"]
CONTEXT = int(os.environ["LOCALLM_CTX"])
PATH = os.environ["LOCALLM_MODEL_PATH"]

client = ollama.Client(host=URL, headers={"Authorization": f"Bearer {KEY}"})


def expect_error(status, call, **kw):
    try:
        call(**kw)
    except ollama.ResponseError as err:
        assert err.status_code == status, (err.status_code, err.error)
        return err
    raise AssertionError(f"expected a {status}")


# list: the one model, described from its file
models = client.list().models
assert [m.model for m in models] == [MODEL], models
m = models[0]
with open(PATH, "rb") as f:
    assert m.digest == hashlib.sha256(f.read()).hexdigest(), m.digest
assert m.size == os.path.getsize(PATH), m.size
assert m.details.format == "gguf" and m.details.family == "llama", m.details
assert m.details.quantization_level == "Q4_1", m.details
assert m.details.parameter_size.endswith("M"), m.details

# show: the parameters Continue reads (num_ctx), the metadata, the template
shown = client.show(MODEL)
params = dict(line.split(None, 1) for line in shown.parameters.splitlines())
assert int(params["num_ctx"]) == CONTEXT, shown.parameters
assert shown.modelinfo["general.architecture"] == "llama", shown.modelinfo
assert shown.modelinfo["llama.context_length"] >= CONTEXT
assert shown.modelinfo["tokenizer.ggml.tokens"] == [], "long arrays are left out"
assert "<|im_start|>" in shown.template and "completion" in shown.capabilities
# an untagged name means `:latest`, as in Ollama
assert client.show(MODEL + ":latest").details == shown.details

assert client.ps().models[0].model == MODEL
assert client.ps().models[0].context_length == CONTEXT

# chat: greedy, twice, so that the streamed run below starts from the same
# cached prompt and gives the same answer
messages = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
options = {"temperature": 0, "seed": 7, "num_predict": 8}
client.chat(model=MODEL, messages=messages, options=options)
reply = client.chat(model=MODEL, messages=messages, options=options)
text = reply.message.content
assert reply.message.role == "assistant" and text, reply
assert reply.done and reply.done_reason in ("stop", "length"), reply
assert (reply.eval_count == 8) == (reply.done_reason == "length"), reply
assert reply.prompt_eval_count > 10 and reply.prompt_eval_duration > 0, reply
assert reply.eval_duration > 0 and reply.load_duration >= 0, reply
assert reply.total_duration >= reply.prompt_eval_duration + reply.eval_duration, reply
assert reply.created_at.endswith("Z")

# chat, streamed: the same text in pieces, the statistics in the last one
parts = list(client.chat(model=MODEL, messages=messages, options=options, stream=True))
assert all(not p.done for p in parts[:-1]) and parts[-1].done, parts[-1]
assert "".join(p.message.content for p in parts) == text, parts
last = parts[-1]
assert last.message.content == "" and last.done_reason == reply.done_reason, last
assert last.eval_count == reply.eval_count and last.prompt_eval_count == reply.prompt_eval_count
assert len(parts) - 1 <= last.eval_count  # one object per piece of text

# a stop string (an option) ends the answer before it
words = text.split()
if len(words) >= 2:
    stopped = client.chat(model=MODEL, messages=messages,
                          options={**options, "stop": [words[1]]})
    assert stopped.message.content == text[: text.index(words[1])], stopped
    assert stopped.done_reason == "stop"

# generate: one prompt through the same chat template is the same greedy
# answer as a chat with that one user message
question = "Name the largest planet of the solar system."
chat_answer = client.chat(model=MODEL, messages=[{"role": "user", "content": question}],
                          options=options).message.content
gen = client.generate(model=MODEL, prompt=question, options=options)
assert gen.response == chat_answer, (gen.response, chat_answer)
assert gen.done and gen.context and len(gen.context) > gen.prompt_eval_count, gen
streamed = list(client.generate(model=MODEL, prompt=question, options=options, stream=True))
assert "".join(p.response for p in streamed) == gen.response
assert streamed[-1].done and streamed[-1].context == gen.context
# raw: no template, no context returned
raw = client.generate(model=MODEL, prompt="The capital of France is", raw=True,
                      options={"temperature": 0, "num_predict": 4})
assert raw.response and raw.context is None and raw.eval_count <= 4, raw

# structured output: a JSON schema in `format`
schema = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "is_capital": {"type": "boolean"}},
    "required": ["city", "is_capital"],
}
reply = client.chat(model=MODEL, format=schema, options={"temperature": 0, "num_predict": 64},
                    messages=[{"role": "user", "content": "Paris as JSON, please."}])
city = json.loads(reply.message.content)
assert isinstance(city["city"], str) and isinstance(city["is_capital"], bool), city
reply = client.generate(
    model=MODEL, format="json", options={"temperature": 0, "num_predict": 64},
    prompt='What is the capital of France? Answer as a JSON object with the key "capital".')
assert reply.done_reason == "stop", reply
assert isinstance(json.loads(reply.response), dict), reply

# tools: whatever the small model does comes back well-formed
weather = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
reply = client.chat(model=MODEL, tools=[weather], options={"temperature": 0, "num_predict": 64},
                    messages=[{"role": "user", "content": "What's the weather in Paris?"}])
for call in reply.message.tool_calls or []:
    assert call.function.name == "get_weather" and isinstance(call.function.arguments, dict)
if not reply.message.tool_calls:
    assert "<tool_call>" not in reply.message.content, reply

# embed: unit vectors, one per input, the same as the OpenAI endpoint's
texts = ["The cat sat on the mat.", "A cat was sitting on a rug.",
         "Quarterly revenue grew by four percent."]
emb = client.embed(model=MODEL, input=texts)
vectors = emb.embeddings
assert len(vectors) == 3 and len(vectors[0]) == 576, len(vectors[0])
assert all(abs(sum(x * x for x in v) - 1) < 1e-4 for v in vectors)
cos = lambda a, b: sum(x * y for x, y in zip(a, b))
assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
assert emb.prompt_eval_count > 3 * 5
request = urllib.request.Request(
    URL + "/v1/embeddings", data=json.dumps({"model": MODEL, "input": texts}).encode(),
    headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
openai_vectors = [d["embedding"] for d in json.load(urllib.request.urlopen(request))["data"]]
for ours, theirs in zip(vectors, openai_vectors):
    # the same f32 vector; scaling to unit length again moves it by an ulp or so
    assert max(abs(a - b) for a, b in zip(ours, theirs)) < 1e-6
# the older endpoint: one prompt, the vector before scaling
old = client.embeddings(model=MODEL, prompt=texts[0]).embedding
norm = math.sqrt(sum(x * x for x in old))
assert norm > 0 and max(abs(a / norm - b) for a, b in zip(old, vectors[0])) < 1e-6

# errors: Ollama's shape, the client's exception
err = expect_error(404, client.chat, model="llama3.2", messages=messages)
assert err.error == "model 'llama3.2' not found", err.error
err = expect_error(400, client.chat, model=MODEL, messages=messages,
                   options={"mirostat": 2})
assert "mirostat" in err.error, err.error
err = expect_error(400, client.chat, model=MODEL, messages=messages,
                   options={"num_ctx": CONTEXT * 2})
assert "--ctx" in err.error, err.error
err = expect_error(400, client.chat, model=MODEL,
                   messages=[{"role": "wizard", "content": "hi"}])
assert "wizard" in err.error, err.error
err = expect_error(400, client.generate, model=MODEL, prompt="x", suffix="y")
assert "suffix" in err.error, err.error
nokey = ollama.Client(host=URL)
expect_error(401, nokey.list)

assert client._client.get("/api/version").json()["version"]
print("ollama client: ok")
