"""deploy/: what can be checked without Docker or a cluster. Every manifest
parses; the Dockerfile is multi-stage, non-root, fetches the model at build
time; the Deployment's probe paths and port are what `cnai serve` answers
when started with the Deployment's own arguments; the ConfigMap is
deploy/router.yaml, mounted where --config reads it, and `cnai router check`
accepts it; KEDA's stream and group are the ones the server creates."""
import hashlib
import os
import pathlib
import subprocess

import pytest
import yaml

from conftest import CNAI_BIN, MODEL, Proc, free_port, http_status, wait_until

DEPLOY = pathlib.Path(__file__).resolve().parents[2] / "deploy"


def docs(name):
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def by_kind(name):
    return {d["kind"]: d for d in docs(name)}


def arg_value(args, flag):
    return args[args.index(flag) + 1]


def test_manifests_parse_and_agree():
    server = by_kind("k8s/server.yaml")
    worker = by_kind("k8s/worker.yaml")
    config = by_kind("k8s/configmap.yaml")["ConfigMap"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert set(server) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    assert set(worker) == {"Deployment", "ScaledObject"}
    assert set(compose["services"]) == {"redis", "server", "worker"}

    pod = server["Deployment"]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
    port = c["ports"][0]
    assert int(arg_value(c["args"], "--port")) == port["containerPort"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    svc = server["Service"]["spec"]
    assert svc["ports"][0]["targetPort"] == port["name"]
    assert svc["selector"] == server["Deployment"]["spec"]["selector"]["matchLabels"]
    assert server["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == server["Deployment"]["metadata"]["name"]

    # The ConfigMap holds deploy/router.yaml, mounted where --config reads it, in both pods.
    assert config["data"]["router.yaml"] == (DEPLOY / "router.yaml").read_text()
    for dep in (server["Deployment"], worker["Deployment"]):
        spec = dep["spec"]["template"]["spec"]
        cont = spec["containers"][0]
        mount = next(m for m in cont["volumeMounts"] if m["name"] == "router-config")
        vol = next(v for v in spec["volumes"] if v["name"] == "router-config")
        assert vol["configMap"]["name"] == config["metadata"]["name"]
        assert mount["subPath"] == "router.yaml"
        assert arg_value(cont["args"], "--config") == mount["mountPath"]
        for env in cont["env"]:  # secrets are references only
            assert "value" not in env and "secretKeyRef" in env["valueFrom"]

    scaled = worker["ScaledObject"]["spec"]
    assert scaled["scaleTargetRef"]["name"] == worker["Deployment"]["metadata"]["name"]
    assert {t["type"] for t in scaled["triggers"]} == {"redis-streams"}
    assert any("pendingEntriesCount" in t["metadata"] for t in scaled["triggers"])

    dockerfile = (DEPLOY / "Dockerfile").read_text()
    froms = [l for l in dockerfile.splitlines() if l.startswith("FROM ")]
    assert len(froms) >= 2
    users = [l.split()[1] for l in dockerfile.splitlines() if l.startswith("USER ")]
    assert users and not users[-1].startswith("0") and users[-1] != "root"
    assert "scripts/fetch_model.sh" in dockerfile
    assert f"EXPOSE {port['containerPort']}" in dockerfile
    assert "/etc/cnai/router.yaml" in dockerfile


def test_server_answers_the_probes_with_the_deployments_arguments(tmpdir_path, redis):
    """Start cnai serve with the Deployment's args (the port made free, the
    key file made here): the probe paths answer on that port; the Redis
    stream and group KEDA watches are the ones the server made."""
    if not os.path.isfile(MODEL):
        pytest.skip("default model missing")
    c = by_kind("k8s/server.yaml")["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    args = list(c["args"])
    port = free_port()
    args[args.index("--port") + 1] = str(port)
    args[args.index("--host") + 1] = "127.0.0.1"
    keys = os.path.join(tmpdir_path, "api-keys.txt")
    pathlib.Path(keys).write_text(f"ops {hashlib.sha256(b'sk-ops').hexdigest()}\n")
    args[args.index("--api-keys") + 1] = keys
    config = os.path.join(tmpdir_path, "router.yaml")
    pathlib.Path(config).write_text((DEPLOY / "router.yaml").read_text())
    args[args.index("--config") + 1] = config
    env = dict(os.environ, CNAI_QUEUE=redis.url, CNAI_MODEL=MODEL)
    proc = Proc([CNAI_BIN, *args, "-t", "1"], os.path.join(tmpdir_path, "serve.log"), env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: not proc.alive() or http_status(base + c["readinessProbe"]["httpGet"]["path"]) == 200,
                   60, what="readiness")
        assert proc.alive(), proc.text()
        assert http_status(base + c["livenessProbe"]["httpGet"]["path"]) == 200
        assert http_status(base + "/v1/models") == 401  # keys from the Secret are required
        worker = by_kind("k8s/worker.yaml")["ScaledObject"]["spec"]["triggers"][0]["metadata"]
        groups = redis.cli("XINFO", "GROUPS", worker["stream"])
        assert worker["consumerGroup"] in groups.split("\n")
    finally:
        proc.stop()
    assert proc.p.returncode == 0  # SIGTERM drains and exits cleanly


def test_router_check_accepts_the_configmaps_router_yaml(tmpdir_path):
    """The text the ConfigMap mounts (not only deploy/router.yaml beside it),
    checked as the pods would read it: no API key set, so the cloud
    deployment is left out with a warning and the config is still usable."""
    text = by_kind("k8s/configmap.yaml")["ConfigMap"]["data"]["router.yaml"]
    path = pathlib.Path(tmpdir_path) / "router.yaml"
    path.write_text(text)
    env = dict(os.environ, CNAI_MODEL=MODEL)
    env.pop("OPENAI_API_KEY", None)
    r = subprocess.run([CNAI_BIN, "router", "check", str(path)], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{path}: OK" in r.stdout
    assert "alias chat (default)" in r.stdout
    assert "OPENAI_API_KEY" in r.stderr  # the warning names the unset key
    # A broken copy is refused with its line: the check is a real one.
    path.write_text(text.replace("targets: [local, gpt-4o-mini]", "targets: [local, nowhere]"))
    bad = subprocess.run([CNAI_BIN, "router", "check", str(path)], capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode == 1 and "nowhere" in bad.stderr, bad.stdout + bad.stderr
