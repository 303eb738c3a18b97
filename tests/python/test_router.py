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


def test_client_from_a_config_file_answers_locally_without_a_key(monkeypatch, model_path):
    """examples/router.yaml: the cloud deployment is left out when OPENAI_API_KEY is unset."""
    import pathlib
    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.setenv("CNAI_MODEL", model_path)
    config = pathlib.Path(__file__).resolve().parents[2] / "examples" / "router.yaml"
    client = cnai.Client(config=str(config))
    r = client.chat.completions.create(model="chat", messages=FRANCE, temperature=0, max_tokens=24)
    assert "Paris" in r.choices[0].message.content
    assert r.deployment == "local"


def test_a_bad_config_names_its_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("deployments:\n  a:\n    type: openai\n    api_key: sk-123\naliases:\n  chat: [b]\n")
    with pytest.raises(cnai.Error) as e:
        cnai.Client(config=str(bad))
    assert "bad.yaml:4" in str(e.value) and "unknown deployment 'b'" in str(e.value)


def test_router_config_env_mapping_replaces_the_process_environment(monkeypatch, model_path):
    """env= is the only source of ${VAR} when given: the process's OPENAI_API_KEY is not seen."""
    import pathlib
    monkeypatch.setenv("OPENAI_API_KEY", "sk-in-the-process-only")
    monkeypatch.delenv("CNAI_MODEL", raising=False)
    config = pathlib.Path(__file__).resolve().parents[2] / "examples" / "router.yaml"
    router = cnai.Router.from_config_file(str(config), env={"CNAI_MODEL": model_path})
    names = {d["name"] for d in router.deployments()}
    assert "local" in names and len(names) == 1, names
    r = cnai.Client(backend=router).chat.completions.create(model="chat", messages=FRANCE, temperature=0, max_tokens=24)
    assert "Paris" in r.choices[0].message.content
