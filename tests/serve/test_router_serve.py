"""`cnai serve --config` and `cnai worker --config`: the router over HTTP.
examples/router.yaml with no API key set (the cloud deployment left out with
a warning, the local model answers), and /metrics as a Prometheus parser
reads it."""
import json
import os
import pathlib
import urllib.request

from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families

from conftest import MODEL, wait_until

ROOT = pathlib.Path(__file__).resolve().parents[2]


def post(base, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def get_text(base, path):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return r.read().decode()


def no_cloud_key_env():
    env = dict(os.environ, CNAI_MODEL=MODEL)
    env.pop("OPENAI_API_KEY", None)
    return env


def parse_metrics(text):
    """Every family once, as the Prometheus client library's parser reads the exposition."""
    families = list(text_string_to_metric_families(text))
    names = [f.name for f in families]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    return {f.name: f for f in families}


def test_example_config_answers_locally_without_an_api_key(cnai):
    server = cnai.serve("--config", str(ROOT / "examples" / "router.yaml"), "--queue", "none", "-t", "1",
                        model=False, env=no_cloud_key_env())
    log = server.text()
    assert "warning" in log and "OPENAI_API_KEY" in log, log
    client = OpenAI(base_url=server.base_url + "/v1", api_key="sk-none", max_retries=0, timeout=120)
    ids = [m.id for m in client.models.list().data]
    assert ids == ["chat", "local"]  # the alias, then the deployment; gpt-4o-mini was left out

    # No model: the default alias.
    r = post(server.base_url, "/v1/chat/completions",
             {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                           {"role": "user", "content": "What is the capital of France?"}],
              "max_tokens": 16, "temperature": 0, "seed": 1})
    assert r["cnai"]["route"]["alias"] == "chat" and r["cnai"]["route"]["deployment"] == "local"
    assert "Paris" in r["choices"][0]["message"]["content"]
    sdk = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "Say hi."}],
                                         max_tokens=8, temperature=0)
    assert sdk.choices[0].message.content

    families = parse_metrics(get_text(server.base_url, "/metrics"))
    for name in ("cnai_server_requests", "cnai_router_requests", "cnai_router_alias_requests",
                 "gen_ai_client_token_usage", "gen_ai_client_operation_duration_seconds", "cnai_backend_up"):
        assert name in families, name
    served = [s for s in families["cnai_router_alias_requests"].samples
              if s.labels == {"alias": "chat", "outcome": "served"}]
    assert served and served[0].value == 2
    assert families["gen_ai_client_token_usage"].type == "histogram"
