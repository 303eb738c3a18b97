"""The official `openai` Python SDK, unchanged, against `cnai serve` on the
default model: models, Responses (plain, streamed, background), Files and
Batches end to end, and error statuses turning into the SDK's exception
classes."""
import hashlib
import json
import os
import subprocess
import time

import openai
import pytest
from openai import OpenAI

from conftest import CNAI_BIN, MODEL, wait_until


def client_for(proc, key="sk-none"):
    return OpenAI(base_url=proc.base_url + "/v1", api_key=key, max_retries=0, timeout=120)


def test_models_and_responses(cnai):
    server = cnai.serve("--queue", "none")
    client = client_for(server)
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert ids == ["SmolLM2-135M-Instruct.Q4_1"]
    assert client.models.retrieve(ids[0]).id == ids[0]

    r = client.responses.create(model=ids[0], input="What is the capital of France? One word.",
                                max_output_tokens=16, temperature=0)
    assert r.status in ("completed", "incomplete")
    assert "Paris" in r.output_text
    assert r.usage.output_tokens > 0 and r.usage.input_tokens > 0

    events = list(client.responses.create(model=ids[0], input="Count: one, two,", max_output_tokens=12,
                                          temperature=0, stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas and deltas == events[-1].response.output_text


def test_chat_completions_streaming_and_completions(cnai):
    server = cnai.serve("--queue", "none")
    client = client_for(server)
    model = client.models.list().data[0].id
    messages = [{"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is the capital of France?"}]
    r = client.chat.completions.create(model=model, messages=messages, max_tokens=16, temperature=0, seed=1)
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert "Paris" in r.choices[0].message.content
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.completion_tokens > 0

    stream = client.chat.completions.create(model=model, messages=messages, max_tokens=16, temperature=0, seed=1,
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == r.choices[0].message.content  # greedy: the same answer, streamed
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == r.usage.completion_tokens
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")

    stopped = client.chat.completions.create(model=model, messages=messages, max_tokens=16, temperature=0,
                                             stop=["capital"])
    assert "capital" not in stopped.choices[0].message.content

    legacy = client.completions.create(model=model, prompt="Say hello.", max_tokens=8, temperature=0)
    assert legacy.object == "text_completion" and legacy.choices[0].text

    two = client.chat.completions.create(model=model, messages=messages, n=2, max_tokens=8, temperature=0)
    assert [c.index for c in two.choices] == [0, 1]
    assert two.choices[0].message.content == two.choices[1].message.content  # greedy: the same choice twice
    assert two.usage.total_tokens == two.usage.prompt_tokens + two.usage.completion_tokens
    assert two.usage.completion_tokens >= 2  # both choices counted
    with pytest.raises(openai.BadRequestError) as n9:
        client.chat.completions.create(model=model, messages=messages, n=9)
    assert n9.value.body["param"] == "n"
    with pytest.raises(openai.BadRequestError) as hot:
        client.chat.completions.create(model=model, messages=messages, temperature=7)
    assert hot.value.body["param"] == "temperature"
    # The local model has no embeddings: a clear 400 naming it, as the SDK's BadRequestError.
    with pytest.raises(openai.BadRequestError) as emb:
        client.embeddings.create(model=model, input="hello")
    assert emb.value.body["code"] == "unsupported"


def token_ids(text):
    out = subprocess.run([CNAI_BIN, "tokenize", "-m", MODEL, text, "--json"], capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout)["ids"]


def test_seed_logit_bias_and_tools_on_the_local_model(cnai):
    server = cnai.serve("--queue", "none")
    client = client_for(server)
    model = client.models.list().data[0].id
    messages = [{"role": "user", "content": "Write one sentence about the sea."}]
    sampled = dict(model=model, messages=messages, max_tokens=20, temperature=1.0)
    a = client.chat.completions.create(seed=42, **sampled).choices[0].message.content
    assert client.chat.completions.create(seed=42, **sampled).choices[0].message.content == a  # same seed, same text
    others = {client.chat.completions.create(seed=s, **sampled).choices[0].message.content for s in (1, 2, 3)}
    assert others - {a}  # other seeds sample otherwise

    [banana] = token_ids(" banana")
    forced = client.chat.completions.create(model=model, messages=messages, max_tokens=4, temperature=0,
                                            logit_bias={str(banana): 100})
    assert forced.choices[0].message.content.count("banana") == 4  # +100 on one token: greedy picks it every step
    greedy = client.chat.completions.create(model=model, messages=messages, max_tokens=8, temperature=0)
    first = token_ids(greedy.choices[0].message.content)[0]
    avoided = client.chat.completions.create(model=model, messages=messages, max_tokens=8, temperature=0,
                                             logit_bias={str(first): -100})
    assert token_ids(avoided.choices[0].message.content)[0] != first

    # Tools are accepted and rendered into the prompt; this model answers in text.
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
                                               "parameters": {"type": "object",
                                                              "properties": {"city": {"type": "string"}}}}}]
    t = client.chat.completions.create(model=model, messages=messages, tools=tools, max_tokens=8, temperature=0)
    assert t.choices[0].finish_reason in ("stop", "length", "tool_calls")


def test_errors_become_sdk_exceptions(cnai, tmpdir_path):
    keys = os.path.join(tmpdir_path, "keys.txt")
    with open(keys, "w") as f:
        f.write(f"team-a {hashlib.sha256(b'sk-a').hexdigest()}\n")
        f.write(f"team-slow {hashlib.sha256(b'sk-slow').hexdigest()} 1\n")
    server = cnai.serve("--api-keys", keys, "--queue", os.path.join(tmpdir_path, "q.db"))
    with pytest.raises(openai.AuthenticationError):
        client_for(server, "sk-wrong").models.list()
    good = client_for(server, "sk-a")
    with pytest.raises(openai.NotFoundError):
        good.batches.retrieve("batch_does_not_exist")
    with pytest.raises(openai.NotFoundError):
        good.models.retrieve("no-such-model")
    with pytest.raises(openai.BadRequestError) as bad:
        good.responses.create(model="m", input=[{"role": "wizard", "content": "hi"}])
    assert bad.value.status_code == 400
    assert bad.value.body["param"] == "input[0].role"
    with pytest.raises(openai.BadRequestError):
        good.batches.create(input_file_id="file-nope", endpoint="/v1/responses", completion_window="forever")
    slow = client_for(server, "sk-slow")
    slow.models.list()
    with pytest.raises(openai.RateLimitError) as limited:
        slow.models.list()
    # One request a minute: the key's bucket holds the next one in ~60 s, and Retry-After says so.
    assert 50 <= int(limited.value.response.headers.get("retry-after")) <= 60


def batch_lines(n):
    return "".join(json.dumps({"custom_id": f"req-{i}", "method": "POST", "url": "/v1/responses",
                               "body": {"input": f"Say the number {i}.", "max_output_tokens": 8,
                                        "temperature": 0}}) + "\n" for i in range(1, n + 1))


def test_files_and_batches_end_to_end(cnai, tmpdir_path):
    server = cnai.serve("--queue", os.path.join(tmpdir_path, "jobs.db"), "--workers", "1")
    client = client_for(server)
    content = batch_lines(6)
    f = client.files.create(file=("requests.jsonl", content.encode()), purpose="batch")
    assert f.bytes == len(content) and f.purpose == "batch"
    assert client.files.retrieve(f.id).filename == "requests.jsonl"
    assert client.files.content(f.id).text == content
    assert f.id in [x.id for x in client.files.list().data]

    batch = client.batches.create(input_file_id=f.id, endpoint="/v1/responses", completion_window="24h",
                                  metadata={"job": "sdk-test"})
    assert batch.status in ("validating", "in_progress")
    assert batch.request_counts.total == 6
    done = wait_until(lambda: (b := client.batches.retrieve(batch.id)).status in
                      ("completed", "failed", "expired", "cancelled") and b, 180, 0.2, "the batch")
    assert done.status == "completed", done
    assert done.request_counts.completed == 6 and done.request_counts.failed == 0
    assert done.metadata == {"job": "sdk-test"}
    lines = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
    assert [x["custom_id"] for x in lines] == [f"req-{i}" for i in range(1, 7)]
    for x in lines:
        assert x["response"]["status_code"] == 200
        assert x["response"]["body"]["output"][0]["content"][0]["text"]
    assert done.error_file_id is None
    assert batch.id in [b.id for b in client.batches.list(limit=10).data]

    # Cancel: every line still gets exactly one result line.
    f2 = client.files.create(file=("more.jsonl", batch_lines(30).encode()), purpose="batch")
    b2 = client.batches.create(input_file_id=f2.id, endpoint="/v1/responses", completion_window="24h")
    cancelled = client.batches.cancel(b2.id)
    assert cancelled.status in ("cancelling", "cancelled")
    final = wait_until(lambda: (b := client.batches.retrieve(b2.id)).status == "cancelled" and b, 60, 0.2, "cancel")
    ids = []
    for fid in (final.output_file_id, final.error_file_id):
        if fid:
            ids += [json.loads(x)["custom_id"] for x in client.files.content(fid).text.splitlines()]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(1, 31))
    assert client.files.delete(f2.id).deleted


def test_background_responses(cnai, tmpdir_path):
    server = cnai.serve("--queue", os.path.join(tmpdir_path, "jobs.db"))
    client = client_for(server)
    r = client.responses.create(model="m", input="Say hello.", max_output_tokens=8, background=True)
    assert r.status == "queued" and r.background
    done = wait_until(lambda: (x := client.responses.retrieve(r.id)).status in ("completed", "incomplete", "failed")
                      and x, 60, 0.1, "the background response")
    assert done.status in ("completed", "incomplete") and done.output_text
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(r.id)  # finished: nothing to cancel
