"""`cnai serve --config` and `cnai worker --config`: the router over HTTP.
examples/router.yaml with no API key set (the cloud deployment left out with
a warning, the local model answers); a router whose "cloud" is a second
`cnai serve` on loopback, with a default alias that is not the first one,
budgets counted in Redis (--budget-store), a worker on a Redis queue; two
replicas sharing their response cache in Redis (--cache-store and
$CNAI_CACHE_STORE); and /metrics as a Prometheus parser reads it."""
import json
import os
import pathlib
import urllib.request

from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families

from conftest import MODEL, free_port, wait_until

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


def write_config(tmp, cloud_url, budget_limit=100.0):
    path = pathlib.Path(tmp) / "router.yaml"
    path.write_text(f"""
router: {{name: edge, default_alias: cloud-first}}
deployments:
  local:
    type: local
    model_path: {MODEL}
    n_ctx: 1024
  cloud:
    type: openai
    model: SmolLM2-135M-Instruct.Q4_1
    base_url: {cloud_url}/v1
    api_key: ${{CLOUD_KEY}}
    retries: 0
    price: {{input: 1000, output: 2000}}
aliases:
  local-first: {{targets: [local, cloud]}}
  cloud-first: {{targets: [cloud, local]}}
budgets:
  - {{name: cloud-total, scope: deployment, deployment: cloud, limit: {budget_limit}, period: total}}
""")
    return str(path)


def test_router_with_a_loopback_cloud_budgets_in_redis_and_a_worker(cnai, redis, tmpdir_path):
    cloud = cnai.serve("--queue", "none")  # a second cnai serve plays the cloud API
    config = write_config(tmpdir_path, cloud.base_url)
    env = dict(os.environ, CLOUD_KEY="sk-cloud")
    edge = cnai.serve("--config", config, "--queue", redis.url, "--workers", "0", "--budget-store", redis.url,
                      "-t", "1", model=False, env=env)
    ids = [m["id"] for m in json.loads(get_text(edge.base_url, "/v1/models"))["data"]]
    assert ids == ["local-first", "cloud-first", "local", "cloud"]

    ask = {"messages": [{"role": "user", "content": "Name a colour."}], "max_tokens": 6, "temperature": 0}
    r = post(edge.base_url, "/v1/chat/completions", ask)  # no model: cloud-first, the default, not the first alias
    assert r["cnai"]["route"]["alias"] == "cloud-first" and r["cnai"]["route"]["deployment"] == "cloud"
    assert r["cnai"]["cost_usd"] > 0
    r = post(edge.base_url, "/v1/chat/completions", dict(ask, model="local-first"))
    assert r["cnai"]["route"]["deployment"] == "local"
    assert r["cnai"]["cost_usd"] == 0
    cloud_metrics = parse_metrics(get_text(cloud.base_url, "/metrics"))
    served = sum(s.value for s in cloud_metrics["cnai_server_requests"].samples
                 if s.labels.get("route") == "/v1/chat/completions" and s.labels.get("status") == "200")
    assert served == 1

    # The budget is counted in Redis, under the router's key for the deployment's total.
    keys = redis.cli("KEYS", "cnai:budget:*").split()
    assert keys == ["cnai:budget:cloud-total::all"], keys
    spent = float(redis.cli("HGET", keys[0], "spent"))
    assert abs(spent - r_cost_total(edge)) < 1e-9

    # A worker with the same config takes batch lines off the Redis queue; lines without a model go to the default alias.
    cnai.worker("--config", config, "--queue", redis.url, model=False, env=env)
    client = OpenAI(base_url=edge.base_url + "/v1", api_key="sk-none", max_retries=0, timeout=120)
    lines = "".join(json.dumps({"custom_id": f"l{i}", "method": "POST", "url": "/v1/chat/completions",
                                "body": {"messages": [{"role": "user", "content": f"Say {i}."}], "max_tokens": 4}}) + "\n"
                    for i in range(3))
    f = client.files.create(file=("in.jsonl", lines.encode()), purpose="batch")
    batch = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    done = wait_until(lambda: (b := client.batches.retrieve(batch.id)).status in ("completed", "failed") and b,
                      120, 0.2, "the batch")
    assert done.status == "completed" and done.request_counts.completed == 3, done
    out = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
    assert sorted(x["custom_id"] for x in out) == ["l0", "l1", "l2"]
    for x in out:
        route = x["response"]["body"]["cnai"]["route"]
        # Batch lines carry tier: batch; with no rule for it here the default alias takes them.
        assert route["alias"] == "cloud-first" and route["deployment"] == "cloud"


def r_cost_total(edge):
    families = parse_metrics(get_text(edge.base_url, "/metrics"))
    return sum(s.value for s in families["cnai_router_cost_usd"].samples if s.labels.get("cnai_deployment") == "cloud")


def chat_requests_served(server):
    families = parse_metrics(get_text(server.base_url, "/metrics"))
    return sum(s.value for s in families["cnai_server_requests"].samples
               if s.labels.get("route") == "/v1/chat/completions" and s.labels.get("status") == "200")


def test_two_replicas_share_the_response_cache_in_redis(cnai, redis, tmpdir_path):
    cloud = cnai.serve("--queue", "none")
    config = pathlib.Path(tmpdir_path) / "cached.yaml"
    config.write_text(f"""
deployments:
  cloud:
    type: openai
    model: SmolLM2-135M-Instruct.Q4_1
    base_url: {cloud.base_url}/v1
    api_key: ${{CLOUD_KEY}}
    retries: 0
aliases:
  chat: {{targets: [cloud], cache: {{ttl: 5m}}}}
""")
    env = dict(os.environ, CLOUD_KEY="sk-cloud")
    env.pop("CNAI_CACHE_STORE", None)
    # One replica is given the store as a flag, the other through the environment (as the Kubernetes pods are).
    a = cnai.serve("--config", str(config), "--queue", "none", "--cache-store", redis.url, model=False, env=env)
    b = cnai.serve("--config", str(config), "--queue", "none", model=False, env=dict(env, CNAI_CACHE_STORE=redis.url))
    ask = {"model": "chat", "messages": [{"role": "user", "content": "Name a fruit."}], "max_tokens": 6, "temperature": 0}
    first = post(a.base_url, "/v1/chat/completions", ask)
    assert first["cnai"]["route"]["cache_hit"] is False
    second = post(b.base_url, "/v1/chat/completions", ask)
    assert second["cnai"]["route"]["cache_hit"] is True
    assert second["choices"][0]["message"]["content"] == first["choices"][0]["message"]["content"]
    assert chat_requests_served(cloud) == 1  # B's answer came from Redis, not from the cloud
    assert all(k.startswith("cnai:cache:chat:") for k in redis.cli("KEYS", "*").split()), redis.cli("KEYS", "*")
    assert len(redis.cli("KEYS", "cnai:cache:*").split()) == 1

    # A replica whose Redis is not there starts (with a warning) and answers from the cloud.
    nowhere = f"redis://127.0.0.1:{free_port()}"
    c = cnai.serve("--config", str(config), "--queue", "none", "--cache-store", nowhere, model=False, env=env)
    assert "--cache-store" in c.text() and "requests go to the deployments" in c.text(), c.text()
    third = post(c.base_url, "/v1/chat/completions", ask)
    assert third["cnai"]["route"]["cache_hit"] is False
    assert chat_requests_served(cloud) == 2
