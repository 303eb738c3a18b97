"""The official `anthropic` Python SDK, unchanged, against `cnai serve`'s
POST /v1/messages on the default model: a message, a stream (the SDK's own
event accumulation), stop sequences, and errors turning into the SDK's
exception classes (its key goes in x-api-key)."""
import hashlib
import os

import anthropic
import pytest

GREEDY = {"temperature": 0}  # this SDK has no temperature argument; the server takes it as the API did
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
SYSTEM = "You are a helpful assistant."


def test_messages_through_the_anthropic_sdk(cnai, tmpdir_path):
    keys = os.path.join(tmpdir_path, "keys.txt")
    with open(keys, "w") as f:
        f.write(f"team {hashlib.sha256(b'sk-ant-team').hexdigest()}\n")
    server = cnai.serve("--queue", "none", "--api-keys", keys)
    client = anthropic.Anthropic(base_url=server.base_url, api_key="sk-ant-team", max_retries=0, timeout=120)
    model = "SmolLM2-135M-Instruct.Q4_1"

    m = client.messages.create(model=model, max_tokens=16, extra_body=GREEDY, system=SYSTEM, messages=QUESTION)
    assert m.type == "message" and m.role == "assistant" and m.id.startswith("msg_")
    assert m.content[0].type == "text" and "Paris" in m.content[0].text
    assert m.stop_reason in ("end_turn", "max_tokens")
    assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0

    with client.messages.stream(model=model, max_tokens=16, extra_body=GREEDY, system=SYSTEM, messages=QUESTION) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == m.content[0].text  # greedy: the same answer, streamed
    assert final.content[0].text == text
    assert final.stop_reason == m.stop_reason
    assert final.usage.output_tokens == m.usage.output_tokens

    stopped = client.messages.create(model=model, max_tokens=16, extra_body=GREEDY, system=SYSTEM, messages=QUESTION,
                                     stop_sequences=["capital"])
    assert "capital" not in stopped.content[0].text

    with pytest.raises(anthropic.AuthenticationError) as denied:
        anthropic.Anthropic(base_url=server.base_url, api_key="sk-wrong", max_retries=0).messages.create(
            model=model, max_tokens=8, messages=QUESTION)
    assert denied.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(model=model, max_tokens=0, messages=QUESTION)
    assert "max_tokens" in bad.value.body["error"]["message"]
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model=model, max_tokens=8, messages=[{"role": "system", "content": "x"}])
