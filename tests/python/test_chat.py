"""client.chat.completions.create on the default model: the openai SDK's
response shapes (checked by openai's own pydantic types), streaming, and
cnai's fields."""
import openai.types
import openai.types.chat
import pytest

import cnai
from conftest import FRANCE


def test_answer_has_the_openai_shape(client):
    r = client.chat.completions.create(model="smollm2", messages=FRANCE, temperature=0, max_tokens=32)
    assert "Paris" in r.choices[0].message.content
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.object == "chat.completion"
    assert r.usage.prompt_tokens > 10 and 0 < r.usage.completion_tokens <= 32
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    # openai-python's own type accepts our dump, field for field.
    parsed = openai.types.chat.ChatCompletion.model_validate(r.model_dump())
    assert parsed.choices[0].message.content == r.choices[0].message.content
    assert parsed.usage.prompt_tokens == r.usage.prompt_tokens


def test_cnai_fields(client):
    r = client.chat.completions.create(messages=FRANCE, temperature=0, max_tokens=8)
    assert r.backend == "local" and r.cnai.backend == "local"
    assert r.cost_usd == 0.0
    assert r.timings.total_ms > 0 and r.timings.completion_tokens_per_s > 0
    assert r.timings.time_to_first_token_ms <= r.timings.total_ms


def test_stream_concatenates_to_the_completion(client):
    whole = client.chat.completions.create(messages=FRANCE, temperature=0, max_tokens=24)
    stream = client.chat.completions.create(messages=FRANCE, temperature=0, max_tokens=24, stream=True)
    assert isinstance(stream, cnai.Stream)
    chunks = list(stream)
    assert len(chunks) >= 3
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason
    for c in chunks:
        assert c.object == "chat.completion.chunk"
        openai.types.chat.ChatCompletionChunk.model_validate(c.model_dump())
    assert stream.completion is not None
    assert stream.completion.choices[0].message.content == text
    assert stream.completion.usage.completion_tokens == whole.usage.completion_tokens


def test_stream_include_usage_ends_with_a_usage_chunk(client):
    chunks = list(client.chat.completions.create(messages=FRANCE, temperature=0, max_tokens=8, stream=True,
                                                 stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == 8 or chunks[-2].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_as_context_manager_and_next(client):
    with client.chat.completions.create(messages=FRANCE, temperature=0, max_tokens=16, stream=True) as stream:
        first = next(stream)
        assert first.choices[0].delta.role == "assistant"
    assert stream._call.cancelled


def test_sampling_fields_reach_the_engine(client):
    # A stop string cuts the answer; max_tokens bounds it; seed makes sampling repeatable.
    r = client.chat.completions.create(messages=FRANCE, temperature=0, max_tokens=32, stop=["Paris"])
    assert "Paris" not in r.choices[0].message.content and r.choices[0].finish_reason == "stop"
    a = client.chat.completions.create(messages=FRANCE, temperature=1.0, seed=7, max_tokens=16)
    b = client.chat.completions.create(messages=FRANCE, temperature=1.0, seed=7, max_tokens=16)
    assert a.choices[0].message.content == b.choices[0].message.content


def test_models_list(client, engine):
    models = client.models.list()
    assert [m.id for m in models] == [engine.model_name]
    openai.types.Model.model_validate(models.data[0].model_dump())
    assert client.models.retrieve(engine.model_name).id == engine.model_name
    with pytest.raises(cnai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_unknown_keyword_is_a_type_error(client):
    with pytest.raises(TypeError, match="temprature"):
        client.chat.completions.create(messages=FRANCE, temprature=0)


def test_client_from_a_model_path(model_path):
    c = cnai.Client(model=model_path, threads=1, n_ctx=512)
    assert c.backend.n_ctx == 512
    r = c.chat.completions.create(messages=FRANCE, temperature=0, max_tokens=16)
    assert "Paris" in r.choices[0].message.content


def test_client_takes_one_backend_source(model_path):
    with pytest.raises(TypeError, match="one of"):
        cnai.Client(model=model_path, base_url="http://127.0.0.1:1/v1")
