"""The official Anthropic Python SDK against `locallm serve`.

Run by crates/serve/tests/sdk.rs with LOCALLM_URL, LOCALLM_KEY and
LOCALLM_MODEL set; exits non-zero (with a traceback) on the first failure.
"""
import os

import anthropic

URL = os.environ["LOCALLM_URL"]
KEY = os.environ["LOCALLM_KEY"]
MODEL = os.environ["LOCALLM_MODEL"]
CONTEXT = int(os.environ["LOCALLM_CTX"])

client = anthropic.Anthropic(base_url=URL, api_key=KEY, max_retries=0)

ask = dict(
    model=MODEL,
    max_tokens=8,
    # greedy; recent SDKs no longer have a `temperature` argument, the API
    # still takes the field
    extra_body={"temperature": 0},
    system="You are a helpful assistant.",
    messages=[{"role": "user", "content": [{"type": "text", "text": "Name a fruit."}]}],
)
# asked twice: the second answer starts from the cached prompt, like the
# streamed one below, so greedy decoding gives the same text
client.messages.create(**ask)
msg = client.messages.create(**ask)
assert msg.type == "message" and msg.role == "assistant"
assert len(msg.content) == 1 and msg.content[0].type == "text"
text = msg.content[0].text
assert text
assert msg.stop_reason in ("end_turn", "max_tokens"), msg
assert (msg.usage.output_tokens == 8) == (msg.stop_reason == "max_tokens"), msg
assert msg.usage.input_tokens == 1  # the rest came from the cache
assert msg.usage.cache_read_input_tokens > 10

# streamed, with the SDK's own event handling
with client.messages.stream(**ask) as stream:
    streamed = "".join(stream.text_stream)
    final = stream.get_final_message()
assert streamed == text, (streamed, text)
assert final.content[0].text == text
assert final.stop_reason == msg.stop_reason
assert final.usage.output_tokens == msg.usage.output_tokens

# raw events, in order
kinds = [e.type for e in client.messages.create(**ask, stream=True)]
assert kinds[:2] == ["message_start", "content_block_start"], kinds
assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"], kinds

# stop sequences
words = text.split()
if len(words) >= 2:
    stopped = client.messages.create(**ask, stop_sequences=[words[1]])
    assert stopped.stop_reason == "stop_sequence"
    assert stopped.stop_sequence == words[1]
    assert stopped.content[0].text == text[: text.index(words[1])]

# errors become the SDK's typed exceptions
def expect(exc, call, **kw):
    try:
        call(**kw)
    except exc as err:
        return err
    raise AssertionError(f"expected {exc.__name__}")

expect(anthropic.NotFoundError, client.messages.create, **{**ask, "model": "claude-x"})
long = [{"role": "user", "content": "hello " * (CONTEXT + 10)}]
err = expect(anthropic.BadRequestError, client.messages.create,
             **{**ask, "messages": long})
assert str(CONTEXT) in err.message
bad = anthropic.Anthropic(base_url=URL, api_key="wrong", max_retries=0)
expect(anthropic.AuthenticationError, bad.messages.create, **ask)

# tools: a forced call is a tool_use block whose input follows the schema
import json

weather = {"name": "get_weather", "description": "Current weather in a city",
           "input_schema": {"type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"]}}
ask_weather = [{"role": "user", "content": "What's the weather in Paris?"}]
msg = client.messages.create(model=MODEL, max_tokens=64, messages=ask_weather,
                             tools=[weather], tool_choice={"type": "tool", "name": "get_weather"})
assert msg.stop_reason == "tool_use", msg
use = [b for b in msg.content if b.type == "tool_use"][0]
assert use.name == "get_weather" and isinstance(use.input["city"], str) and use.id, use

with client.messages.stream(model=MODEL, max_tokens=64, messages=ask_weather,
                            tools=[weather], tool_choice={"type": "any"}) as stream:
    final = stream.get_final_message()
streamed = [b for b in final.content if b.type == "tool_use"]
assert final.stop_reason == "tool_use" and streamed[0].name == "get_weather", final
assert isinstance(streamed[0].input["city"], str), final

# the call and its result go back as content blocks
followup = ask_weather + [
    {"role": "assistant", "content": [{"type": "tool_use", "id": use.id,
                                       "name": "get_weather", "input": use.input}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                  "content": '{"temperature": 21}'}]},
]
msg = client.messages.create(model=MODEL, max_tokens=24, messages=followup,
                             tools=[weather], tool_choice={"type": "none"})
assert msg.content[0].type == "text" and msg.content[0].text, msg

print("anthropic sdk: ok")
