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
long = [{"role": "user", "content": "hello " * (CONTEXT + 10)}]
err = expect(openai.BadRequestError, client.chat.completions.create,
             model=MODEL, messages=long, max_tokens=1)
assert err.code == "context_length_exceeded" and str(CONTEXT) in err.message
err = expect(openai.NotFoundError, client.embeddings.create, model=MODEL, input="hi")
assert "embeddings" in err.message
bad = OpenAI(base_url=URL, api_key="wrong", max_retries=0)
expect(openai.AuthenticationError, bad.models.list)

print("openai sdk: ok")
