"""The official OpenAI Python SDK against `locallm serve`.

Run by crates/serve/tests/sdk.rs with LOCALLM_URL, LOCALLM_KEY and
LOCALLM_MODEL set; exits non-zero (with a traceback) on the first failure.
"""
import os

import openai
from openai import OpenAI

URL = os.environ["LOCALLM_URL"] + "/v1"
KEY = os.environ["LOCALLM_KEY"]
MODEL = os.environ["LOCALLM_MODEL"]
CONTEXT = int(os.environ["LOCALLM_CTX"])

client = OpenAI(base_url=URL, api_key=KEY, max_retries=0)

# models
assert [m.id for m in client.models.list().data] == [MODEL]

# a chat answer; asked twice so that the second (and the streamed one
# below) start from the same cached prompt and give the same greedy answer
messages = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]
ask = dict(model=MODEL, messages=messages, max_tokens=8, temperature=0, seed=7)
client.chat.completions.create(**ask)
reply = client.chat.completions.create(**ask)
assert reply.object == "chat.completion"
assert len(reply.choices) == 1
choice = reply.choices[0]
text = choice.message.content
assert choice.message.role == "assistant"
assert text, reply
usage = reply.usage
assert choice.finish_reason in ("stop", "length"), choice
assert (usage.completion_tokens == 8) == (choice.finish_reason == "length"), reply
assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
assert usage.prompt_tokens_details.cached_tokens == usage.prompt_tokens - 1, usage

# max_completion_tokens is the newer name of max_tokens
short = client.chat.completions.create(
    model=MODEL, messages=messages, max_completion_tokens=2, temperature=0
)
assert short.usage.completion_tokens == 2 and short.choices[0].finish_reason == "length"

# streamed: the same text, then a usage chunk
stream = client.chat.completions.create(
    **ask, stream=True, stream_options={"include_usage": True}
)
pieces, finish, final_usage = [], None, None
for chunk in stream:
    assert chunk.object == "chat.completion.chunk"
    if chunk.choices:
        delta = chunk.choices[0].delta
        if delta.content:
            pieces.append(delta.content)
        finish = chunk.choices[0].finish_reason or finish
    if chunk.usage:
        final_usage = chunk.usage
assert "".join(pieces) == text, (pieces, text)
assert finish == choice.finish_reason
assert final_usage.completion_tokens == usage.completion_tokens

# a stop string
words = text.split()
if len(words) >= 2:
    stopped = client.chat.completions.create(**ask, stop=[words[1]])
    assert stopped.choices[0].message.content == text[: text.index(words[1])]
    assert stopped.choices[0].finish_reason == "stop"

# logprobs: the model's view of each token, the top 5 alternatives with it.
# The same numbers as the perplexity code path: crates/serve/tests/sdk.rs
# recomputes them from what this writes.
import json

lp_ask = dict(model=MODEL, messages=messages, max_tokens=8, temperature=0,
              logprobs=True, top_logprobs=5)
scored = client.chat.completions.create(**lp_ask)
content = scored.choices[0].logprobs.content
assert len(content) == scored.usage.completion_tokens, scored
assert b"".join(bytes(t.bytes) for t in content).decode() == scored.choices[0].message.content
for t in content:
    assert len(t.top_logprobs) == 5 and t.logprob <= 0, t
    # greedy: the chosen token is the best alternative
    assert t.top_logprobs[0].bytes == t.bytes and abs(t.top_logprobs[0].logprob - t.logprob) < 1e-6, t
    assert [a.logprob for a in t.top_logprobs] == sorted((a.logprob for a in t.top_logprobs), reverse=True)
with open(os.environ["LOCALLM_LOGPROBS_OUT"], "w") as f:
    json.dump({"messages": messages, "content": [
        {"bytes": t.bytes, "logprob": t.logprob,
         "top": [{"bytes": a.bytes, "logprob": a.logprob} for a in t.top_logprobs]}
        for t in content]}, f)
# streamed: each chunk carries the tokens behind its text; together the same
streamed = [t for c in client.chat.completions.create(**lp_ask, stream=True)
            if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content]
assert [(t.bytes, t.top_logprobs[1].bytes) for t in streamed] == \
    [(t.bytes, t.top_logprobs[1].bytes) for t in content], (streamed, content)
# not asked for: null
assert client.chat.completions.create(**ask).choices[0].logprobs is None
# completions: the legacy shape
legacy = client.completions.create(model=MODEL, prompt="The capital of France is",
                                   max_tokens=4, temperature=0, logprobs=3)
lp = legacy.choices[0].logprobs
assert "".join(lp.tokens) == legacy.choices[0].text, lp
assert len(lp.token_logprobs) == len(lp.tokens) == len(lp.top_logprobs) == legacy.usage.completion_tokens
assert lp.text_offset == [sum(len(t) for t in lp.tokens[:i]) for i in range(len(lp.tokens))], lp
assert all(len(top) <= 3 and max(top.values()) == lp.token_logprobs[i] for i, top in enumerate(lp.top_logprobs)), lp
streamed = [t for c in client.completions.create(model=MODEL, prompt="The capital of France is",
                                                  max_tokens=4, temperature=0, logprobs=3, stream=True)
            if c.choices[0].logprobs for t in c.choices[0].logprobs.tokens]
assert streamed == lp.tokens, (streamed, lp.tokens)

# logit_bias, top_k, min_p change the draw. +100 forces token 1000 after
# any prompt (and the model's own best token is another); top_k=1 and
# min_p=1 leave only the best token, so even at temperature 1.5 the answer
# is the greedy one
greedy_text = scored.choices[0].message.content
forced = [client.chat.completions.create(
    model=MODEL, messages=m, max_tokens=1, temperature=0, logprobs=True, top_logprobs=1,
    logit_bias={"1000": 100}).choices[0].logprobs.content[0]
    for m in (messages, [{"role": "user", "content": "Tell me a story."}])]
assert forced[0].bytes == forced[1].bytes, forced
assert all(f.top_logprobs[0].bytes != f.bytes for f in forced), forced
for extra in ({"top_k": 1}, {"min_p": 1.0}):
    hot = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8,
                                         temperature=1.5, seed=1, extra_body=extra)
    assert hot.choices[0].message.content == greedy_text, (extra, hot)

# legacy completions
done = client.completions.create(
    model=MODEL, prompt="The capital of France is", max_tokens=4, temperature=0
)
assert done.object == "text_completion"
assert done.usage.completion_tokens <= 4 and done.choices[0].text

# errors become the SDK's typed exceptions
def expect(exc, call, **kw):
    try:
        call(**kw)
    except exc as err:
        return err
    raise AssertionError(f"expected {exc.__name__}")

err = expect(openai.NotFoundError, client.chat.completions.create,
             model="gpt-4o", messages=messages)
assert err.status_code == 404 and err.code == "model_not_found"
err = expect(openai.BadRequestError, client.chat.completions.create,
             model=MODEL, messages=messages, n=2)
assert err.param == "n"
err = expect(openai.BadRequestError, client.chat.completions.create,
             model=MODEL, messages=messages, top_logprobs=2)
assert err.param == "top_logprobs"
err = expect(openai.BadRequestError, client.chat.completions.create,
             model=MODEL, messages=messages, logprobs=True, top_logprobs=21)
assert err.param == "top_logprobs"
err = expect(openai.BadRequestError, client.chat.completions.create,
             model=MODEL, messages=messages, logit_bias={"999999": 1})
assert err.param == "logit_bias"
err = expect(openai.BadRequestError, client.chat.completions.create,
             model=MODEL, messages=messages, extra_body={"min_p": 2})
assert err.param == "min_p"
long = [{"role": "user", "content": "hello " * (CONTEXT + 10)}]
err = expect(openai.BadRequestError, client.chat.completions.create,
             model=MODEL, messages=long, max_tokens=1)
assert err.code == "context_length_exceeded" and str(CONTEXT) in err.message
# embeddings: one unit vector per input, the same in both encodings (the
# SDK asks for base64 unless told otherwise)
texts = ["The cat sat on the mat.", "A cat was sitting on a rug.",
         "Quarterly revenue grew by four percent."]
emb = client.embeddings.create(model=MODEL, input=texts)
floats = client.embeddings.create(model=MODEL, input=texts, encoding_format="float")
vectors = [e.embedding for e in emb.data]
assert [e.index for e in emb.data] == [0, 1, 2] and len(vectors[0]) == 576
assert vectors == [e.embedding for e in floats.data]
assert all(abs(sum(x * x for x in v) - 1) < 1e-4 for v in vectors)
cos = lambda a, b: sum(x * y for x, y in zip(a, b))
assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2]), [cos(vectors[0], v) for v in vectors]
assert emb.usage.prompt_tokens == emb.usage.total_tokens > 3 * 5
one = client.embeddings.create(model=MODEL, input=texts[0], encoding_format="float")
assert one.data[0].embedding == vectors[0]
err = expect(openai.BadRequestError, client.embeddings.create, model=MODEL, input=texts,
             dimensions=64)
assert err.param == "dimensions"
bad = OpenAI(base_url=URL, api_key="wrong", max_retries=0)
expect(openai.AuthenticationError, bad.models.list)

# structured output: JSON mode and a JSON schema. The grammar masks every
# token that would break the JSON, so the answer parses whatever the model
# "wanted" to say, and follows the schema.
import json

json_ask = [{"role": "user", "content":
             'What is the capital of France? Answer as a JSON object with the key "capital".'}]
reply = client.chat.completions.create(
    model=MODEL, messages=json_ask, max_tokens=64, temperature=0,
    response_format={"type": "json_object"})
assert reply.choices[0].finish_reason == "stop", reply
assert isinstance(json.loads(reply.choices[0].message.content), dict), reply

schema = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "country": {"type": "string"},
        "population_millions": {"type": "number"},
        "is_capital": {"type": "boolean"},
    },
    "required": ["city", "country", "is_capital"],
    "additionalProperties": False,
}
fmt = {"type": "json_schema",
       "json_schema": {"name": "city", "schema": schema, "strict": True}}
for temperature in (0, 1.0):
    reply = client.chat.completions.create(
        model=MODEL, messages=json_ask, max_tokens=96, temperature=temperature,
        seed=3, response_format=fmt)
    assert reply.choices[0].finish_reason == "stop", reply
    city = json.loads(reply.choices[0].message.content)
    assert set(city) <= set(schema["properties"]), city
    assert {"city", "country", "is_capital"} <= set(city), city
    assert isinstance(city["city"], str) and isinstance(city["is_capital"], bool), city

# streamed, the pieces join into the same kind of value
stream = client.chat.completions.create(
    model=MODEL, messages=json_ask, max_tokens=96, temperature=0,
    response_format=fmt, stream=True)
streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
assert {"city", "country", "is_capital"} <= set(json.loads(streamed)), streamed

bad_schema = {"type": "json_schema",
              "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "^a"}}}
err = expect(openai.BadRequestError, client.chat.completions.create,
             model=MODEL, messages=json_ask, response_format=bad_schema)
assert "pattern" in err.message and err.param.startswith("response_format"), err

# a Pydantic model with nested and optional fields (person_model.py). The
# SDK's parse() sends its strict JSON schema ($defs, $ref, anyOf with null,
# maxItems), the grammar enforces it, and the SDK parses the answer back
# into the model; the model's own model_json_schema() works as it is too
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from person_model import Address, Person  # noqa: E402

person_ask = [{"role": "user", "content":
               "Alice is 30 and lives at 1 Main Street, Paris. She speaks French. "
               "Describe her as JSON."}]
# (sampled at 0.7: at 1.0 the 135M model now and then rambles inside a
# string until max_tokens; the text stays valid so far, but parse() needs it
# finished. Measured: at 0.7 seeds 1-8 all finish within 150 tokens.)
for temperature, seed in ((0, 1), (0.7, 1), (0.7, 2), (0.7, 3)):
    parsed = client.chat.completions.parse(
        model=MODEL, messages=person_ask, response_format=Person, max_tokens=400,
        temperature=temperature, seed=seed)
    person = parsed.choices[0].message.parsed
    assert isinstance(person, Person) and isinstance(person.home, Address), parsed
    assert len(person.languages) <= 3, person
raw = client.chat.completions.create(
    model=MODEL, messages=person_ask, max_tokens=400, temperature=0,
    response_format={"type": "json_schema",
                     "json_schema": {"name": "person", "schema": Person.model_json_schema()}})
assert raw.choices[0].finish_reason == "stop", raw
Person.model_validate_json(raw.choices[0].message.content)

# the Responses API: plain, streamed, structured
resp = client.responses.create(model=MODEL, instructions="Answer briefly.",
                               input="What is the capital of France?",
                               max_output_tokens=16, temperature=0)
assert resp.object == "response" and resp.status in ("completed", "incomplete"), resp
assert resp.output_text, resp
assert resp.usage.output_tokens <= 16
assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
if resp.status == "incomplete":
    assert resp.incomplete_details.reason == "max_output_tokens"

events = list(client.responses.create(
    model=MODEL, instructions="Answer briefly.",
    input=[{"role": "user", "content": [{"type": "input_text",
                                         "text": "What is the capital of France?"}]}],
    max_output_tokens=16, temperature=0, stream=True))
kinds = [e.type for e in events]
assert kinds[:4] == ["response.created", "response.in_progress",
                     "response.output_item.added", "response.content_part.added"], kinds
assert kinds[-1] in ("response.completed", "response.incomplete"), kinds
assert [e.sequence_number for e in events] == list(range(len(events)))
deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
done = next(e for e in events if e.type == "response.output_text.done")
assert deltas and deltas == done.text == events[-1].response.output_text, events[-1]
# the same greedy answer as the non-streamed request
assert deltas == resp.output_text, (deltas, resp.output_text)

resp = client.responses.create(
    model=MODEL, input="Give the capital of France as JSON.", max_output_tokens=96,
    temperature=0, text={"format": {"type": "json_schema", "name": "city",
                                    "schema": schema, "strict": True}})
assert {"city", "country", "is_capital"} <= set(json.loads(resp.output_text)), resp
err = expect(openai.BadRequestError, client.responses.create, model=MODEL,
             input="hi", previous_response_id="resp_123")
assert err.param == "previous_response_id"

# tools: a forced call always parses and names the tool; its arguments
# follow the tool's JSON schema
weather = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object",
                   "properties": {"city": {"type": "string"},
                                  "unit": {"enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}}
clock = {"type": "function", "function": {
    "name": "get_time", "description": "Current time in a timezone",
    "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}
ask_weather = [{"role": "user", "content": "What's the weather in Paris?"}]
reply = client.chat.completions.create(
    model=MODEL, messages=ask_weather, tools=[weather, clock], max_tokens=64, temperature=0,
    tool_choice={"type": "function", "function": {"name": "get_weather"}})
choice = reply.choices[0]
assert choice.finish_reason == "tool_calls", reply
call = choice.message.tool_calls[0]
assert call.type == "function" and call.function.name == "get_weather" and call.id, call
args = json.loads(call.function.arguments)
assert isinstance(args["city"], str) and set(args) <= {"city", "unit"}, args

stream = client.chat.completions.create(
    model=MODEL, messages=ask_weather, tools=[weather, clock], max_tokens=64, temperature=0,
    tool_choice="required", stream=True)
chunks = list(stream)
calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
assert len(calls) >= 1 and calls[0].function.name in ("get_weather", "get_time"), chunks
json.loads(calls[0].function.arguments)
assert chunks[-1].choices[0].finish_reason == "tool_calls", chunks[-1]

# "auto": the model decides; whatever it does comes back well-formed
reply = client.chat.completions.create(
    model=MODEL, messages=ask_weather, tools=[weather], max_tokens=64, temperature=0)
message = reply.choices[0].message
if message.tool_calls:
    assert reply.choices[0].finish_reason == "tool_calls"
    json.loads(message.tool_calls[0].function.arguments)
else:
    assert message.content and "<tool_call>" not in message.content, message

# the call and its result go back into the conversation
followup = ask_weather + [
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": call.id, "type": "function",
         "function": {"name": "get_weather", "arguments": call.function.arguments}}]},
    {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 21, "unit": "celsius"}'},
]
reply = client.chat.completions.create(model=MODEL, messages=followup, tools=[weather],
                                       tool_choice="none", max_tokens=24, temperature=0)
assert reply.choices[0].message.content and not reply.choices[0].message.tool_calls, reply

err = expect(openai.BadRequestError, client.chat.completions.create,
             model=MODEL, messages=ask_weather, tool_choice="required")
assert err.param == "tool_choice"
err = expect(openai.BadRequestError, client.chat.completions.create, model=MODEL,
             messages=ask_weather, tools=[weather],
             tool_choice={"type": "function", "function": {"name": "nope"}})
assert "nope" in err.message

print("openai sdk: ok")
