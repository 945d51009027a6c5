"""Every request field of the installed OpenAI SDK, against `locallm serve`.

The fields come from the SDK itself: the keys of the TypedDicts its
`chat.completions.create` and `completions.create` take. Each must be
decided below as

- "used": it changes the answer; a request with it is answered (200) and
  the check sees its effect;
- "honoured": accepted with the values whose promise holds on this server
  (first value, 200), refused with others (second value, 400 naming it);
- "refused": a 400 that names the field.

A field a newer SDK adds is in none of the tables: this script then fails
and says which, until the server decides (crates/serve/src/openai/fields.rs)
and the table here says how. Run by crates/serve/tests/sdk.rs.
"""
import json
import os

import openai
from openai import OpenAI
from openai.types import completion_create_params
from openai.types.chat import completion_create_params as chat_create_params

URL = os.environ["LOCALLM_URL"] + "/v1"
KEY = os.environ["LOCALLM_KEY"]
MODEL = os.environ["LOCALLM_MODEL"]

client = OpenAI(base_url=URL, api_key=KEY, max_retries=0)


def sdk_fields(module):
    """The request fields of an SDK `create` call (its streaming variant
    has them all, `stream` included)."""
    td = module.CompletionCreateParamsStreaming
    return set(td.__required_keys__ | td.__optional_keys__)


weather = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
CHAT_BASE = dict(model=MODEL, messages=[{"role": "user", "content": "Say hi"}],
                 max_tokens=3, temperature=0)
TEXT_BASE = dict(model=MODEL, prompt="The capital of France is", max_tokens=3, temperature=0)


def first_choice(r):
    return r.choices[0]


# field: (kind, probe, check or the refused value)
CHAT = {
    "model": ("used", MODEL, lambda r: r.model == MODEL),
    "messages": ("used", CHAT_BASE["messages"], lambda r: first_choice(r).message.content),
    "max_tokens": ("used", 2, lambda r: r.usage.completion_tokens <= 2),
    "max_completion_tokens": ("used", 2, lambda r: r.usage.completion_tokens <= 2),
    "temperature": ("used", 0.5, None),
    "top_p": ("used", 0.5, None),
    "frequency_penalty": ("used", 0.5, None),
    "presence_penalty": ("used", 0.5, None),
    "seed": ("used", 11, None),
    "stop": ("used", ["hi", "Hi"], lambda r: "hi" not in first_choice(r).message.content.lower()),
    "n": ("used", 1, lambda r: len(r.choices) == 1),
    "logit_bias": ("used", {"28": -100}, None),
    "logprobs": ("used", True, lambda r: first_choice(r).logprobs.content),
    "top_logprobs": ("used", 3, lambda r: all(
        len(t.top_logprobs) == 3 for t in first_choice(r).logprobs.content)),
    "response_format": ("used", {"type": "json_object"}, None),
    "tools": ("used", [weather], None),
    "tool_choice": ("used", "required", lambda r: first_choice(r).message.tool_calls),
    "stream": ("used", True, None),
    "stream_options": ("used", {"include_usage": True}, None),
    "user": ("honoured", "user-1", 7),
    "safety_identifier": ("honoured", "hash-1", 7),
    "prompt_cache_key": ("honoured", "conversation-1", 7),
    "prompt_cache_retention": ("honoured", "in_memory", "24h"),
    "store": ("honoured", False, True),
    "service_tier": ("honoured", "auto", "flex"),
    "parallel_tool_calls": ("honoured", True, False),
    "modalities": ("honoured", ["text"], ["text", "audio"]),
    "metadata": ("refused", {"project": "x"}),
    "audio": ("refused", {"voice": "alloy", "format": "wav"}),
    "functions": ("refused", [weather["function"]]),
    "function_call": ("refused", "auto"),
    "prediction": ("refused", {"type": "content", "content": "Hello"}),
    "reasoning_effort": ("refused", "low"),
    "verbosity": ("refused", "low"),
    "web_search_options": ("refused", {}),
    "moderation": ("refused", {"input": {"mode": "score"}}),
    "prompt_cache_options": ("refused", {"ttl": "1h"}),
}

TEXT = {
    "model": ("used", MODEL, lambda r: r.model == MODEL),
    "prompt": ("used", "The capital of France is", lambda r: first_choice(r).text),
    "max_tokens": ("used", 2, lambda r: r.usage.completion_tokens <= 2),
    "temperature": ("used", 0.5, None),
    "top_p": ("used", 0.5, None),
    "frequency_penalty": ("used", 0.5, None),
    "presence_penalty": ("used", 0.5, None),
    "seed": ("used", 11, None),
    "stop": ("used", "\n", lambda r: "\n" not in first_choice(r).text),
    "n": ("used", 1, lambda r: len(r.choices) == 1),
    "logit_bias": ("used", {"28": -100}, None),
    "logprobs": ("used", 2, lambda r: all(len(t) == 2 for t in first_choice(r).logprobs.top_logprobs)),
    "stream": ("used", True, None),
    "stream_options": ("used", {"include_usage": True}, None),
    "user": ("honoured", "user-1", 7),
    "best_of": ("honoured", 1, 2),
    "echo": ("honoured", False, True),
    "suffix": ("honoured", "", " and so on."),
}

# what `stream` and `stream_options` need next to them
NEEDS = {"stream_options": {"stream": True}, "top_logprobs": {"logprobs": True},
         "tool_choice": {"tools": [weather], "max_tokens": 48}, "tools": {"tool_choice": "none"},
         "parallel_tool_calls": {"tools": [weather]}}


def expect_400(call, field, **kw):
    try:
        result = call(**kw)
        if isinstance(result, openai.Stream):
            list(result)
    except openai.BadRequestError as err:
        assert err.param == field, (field, err.param, err.message)
        return err
    raise AssertionError(f"`{field}`: expected a 400")


def walk(name, call, base, table, module):
    fields = sdk_fields(module)
    undecided = sorted(fields - set(table))
    assert not undecided, (
        f"{name}: the SDK sends fields the server has not decided: {undecided}; "
        "decide them in crates/serve/src/openai/fields.rs and list them here")
    for field in sorted(fields):
        kind, probe, *rest = table[field]
        kw = {**base, **NEEDS.get(field, {}), field: probe}
        if kind == "refused":
            err = expect_400(call, field, **kw)
            assert field in err.message, err.message
            continue
        result = call(**kw)
        if isinstance(result, openai.Stream):
            chunks = list(result)
            assert chunks, field
            if field == "stream_options":
                assert chunks[-1].usage.completion_tokens >= 1, chunks[-1]
            continue
        check = rest[0]
        if kind == "used" and check is not None:
            assert check(result), (field, result)
        if kind == "honoured":
            expect_400(call, field, **{**kw, field: rest[0]})
    print(f"{name}: {len(fields)} SDK fields decided and checked")


walk("chat.completions", client.chat.completions.create, CHAT_BASE, CHAT, chat_create_params)
walk("completions", client.completions.create, TEXT_BASE, TEXT, completion_create_params)

# a field no SDK sends is refused too, as OpenAI does
err = expect_400(client.chat.completions.create, "frobnicate", **CHAT_BASE,
                 extra_body={"frobnicate": 1})
assert "Unrecognized request argument" in err.message, err.message
# null is "not given"
client.chat.completions.create(**CHAT_BASE, extra_body={"frobnicate": None})
print("openai fields: ok")
