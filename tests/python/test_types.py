"""The shared types' dict conversion: a Chat Completions body in, the same
body out; responses as cnai's server would send them."""
import pytest

import cnai
from conftest import FRANCE


def test_request_round_trip():
    body = {"model": "m", "messages": FRANCE, "temperature": 0.5, "max_tokens": 12, "stop": ["\n"], "seed": 3}
    r = cnai.ChatRequest.from_dict(body)
    assert r.model == "m" and r.max_tokens == 12 and r.stop == ["\n"] and r.message_count == 2
    out = r.to_dict()
    assert out["messages"] == FRANCE and out["temperature"] == 0.5 and out["seed"] == 3
    assert cnai.ChatRequest.from_json(r.to_json()).to_dict() == out


def test_request_errors_name_the_field():
    with pytest.raises(cnai.BadRequestError, match="messages"):
        cnai.ChatRequest.from_dict({"model": "m", "messages": "not a list"})
    with pytest.raises(cnai.UnsupportedError):
        cnai.ChatRequest.from_dict({"model": "m", "messages": FRANCE, "n": 2})
    with pytest.raises(cnai.BadRequestError):
        cnai.EmbeddingRequest.from_dict({"input": [1, 2, 3]})


def test_response_dicts(engine):
    native = engine.chat(cnai.ChatRequest.from_dict({"model": "", "messages": FRANCE, "temperature": 0, "max_tokens": 8}))
    d = native.to_dict()
    assert d["object"] == "chat.completion"
    assert d["choices"][0]["message"]["content"] == native.choices[0].message.content
    assert d["usage"]["completion_tokens"] == native.usage.completion_tokens
    assert d["cnai"]["backend"] == "local"


def test_cache_dir_from_the_mapping_given_else_the_process_environment(monkeypatch, tmp_path):
    assert cnai.default_cache_dir({"CNAI_CACHE_DIR": "/tmp/c", "HOME": "/h"}) == "/tmp/c"
    assert cnai.default_cache_dir({"HOME": "/h"}) == "/h/.cache/cnai"
    assert cnai.default_cache_dir({}) == "./.cache/cnai"
    monkeypatch.setenv("CNAI_CACHE_DIR", str(tmp_path))
    assert cnai.default_cache_dir() == str(tmp_path)
    assert cnai.default_model_path() == str(tmp_path / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert cnai.default_embedding_model_path("/x") == "/x/models/all-MiniLM-L6-v2.Q8_0.gguf"
