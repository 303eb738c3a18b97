"""cnai.Router from code behind cnai.Client: a deployment that cannot be
reached fails over to the local model, and the response says which deployment
served it and why the first one did not (ChatResponse.route)."""
import socket

import openai.types.chat
import pytest

import cnai
from conftest import FRANCE


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@pytest.fixture(scope="module")
def router(engine):
    down = cnai.OpenAiClient(base_url=f"http://127.0.0.1:{dead_port()}/v1", api_key="k", max_retries=0)
    return cnai.Router({"remote": (down, "gpt-x"), "local": engine}, {"chat": ["remote", "local"]})


def test_failover_to_the_local_model(router):
    client = cnai.Client(backend=router)
    r = client.chat.completions.create(model="chat", messages=FRANCE, temperature=0, max_tokens=24)
    assert "Paris" in r.choices[0].message.content
    assert r.deployment == "local" and r.cnai.route.alias == "chat"
    attempts = r.cnai.route.attempts
    assert [a.deployment for a in attempts] == ["remote", "local"]
    assert attempts[0].error_code == "unavailable" and attempts[1].error_code == ""
    openai.types.chat.ChatCompletion.model_validate(r.model_dump())


def test_streams_through_the_router(router):
    client = cnai.Client(backend=router)
    stream = client.chat.completions.create(model="chat", messages=FRANCE, temperature=0, max_tokens=24, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream)
    assert "Paris" in text and stream.completion.deployment == "local"


def test_router_surface(router):
    assert router.aliases() == ["chat"]
    names = {d["name"] for d in router.deployments()}
    assert names == {"remote", "local"}
    ids = [m.id for m in cnai.Client(backend=router).models.list()]
    assert "chat" in ids
    with pytest.raises(cnai.NotFoundError):
        cnai.Client(backend=router).chat.completions.create(model="no-such-alias", messages=FRANCE)
    with pytest.raises(cnai.BadRequestError):
        cnai.Router({"a": router}, {"x": ["missing"]})
