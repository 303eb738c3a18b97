#!/usr/bin/env python3
"""The router against an OpenAI-compatible server nobody on this project wrote:
llama.cpp's llama-server plays the "cloud" beside the local model, behind one
alias (overflow: local until its queue is deep, then the cloud), and is
killed and restarted under load; then a budget on the cloud is crossed
mid-run. Every request is accounted for, and the script fails (exit 1) when
a check does not hold:

  kill/restart run  - every request ends served (by local or cloud) or with a
                      typed cnai.Error, none lost or untyped;
                    - none that started after the kill (plus the breaker's
                      first failures) and ended before the restart was served
                      by the cloud: they failed over to local;
                    - the cloud serves again after the restart (the breaker
                      closes after its cooldown).
  budget run        - the cloud's booked spend stops at the budget (plus what
                      was in flight when it was crossed); later requests are
                      served locally (action reroute_local), none refused.

    PYTHONPATH=build/python python3 benchmarks/router_foreign_cloud.py \
        [--llama-server ~/.cache/cnai/llama.cpp/bin/llama-server] [--clients 8] [--seconds 24]

llama-server comes from scripts/fetch_llama_cpp.sh. Prints one table per run
and the checks; --json writes the per-request records.
"""
import argparse
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import cnai

from bench_paths import CACHE, LLAMA_BIN, require

MODEL = Path(os.environ.get("CNAI_MODEL") or CACHE / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
QUESTIONS = ["What is the capital of France?", "Name a large planet.", "What colour is the sky?",
             "How many legs has a spider?", "What is two plus two?", "Name a fruit that is yellow.",
             "What do bees make?", "Which ocean is the largest?"]

CONFIG = """
router:
  name: scenario
  default_alias: chat
  max_wait: 10s                 # every deployment busy or cooling down: wait for one
  breaker: {{failure_rate: 0.5, minimum_calls: 3, cooldown: 2s}}
deployments:
  local:
    type: local
    model_path: ${{CNAI_MODEL}}
    n_ctx: 2048
    limits: {{max_concurrency: 3}}   # beyond 3 in flight: the cloud takes the peak
  cloud:
    type: openai
    model: smollm2
    base_url: ${{CLOUD_URL}}
    api_key: ${{CLOUD_KEY}}
    retries: 0
    price: {{input: {price_in}, output: {price_out}}}
    timeouts: {{total: 20s, first_token: 15s, inter_chunk: 5s, connect: 1s}}
aliases:
  chat:
    policy: overflow
    max_queue_depth: 2
    resume_queue_depth: 1
    targets: [local, cloud]
{budgets}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cloud:
    """llama-server on a fixed port, started, killed (SIGKILL) and restarted."""

    def __init__(self, exe, port, threads):
        self.exe, self.port, self.threads, self.proc = exe, port, threads, None

    def start(self):
        self.proc = subprocess.Popen([str(self.exe), "-m", str(MODEL), "--port", str(self.port), "-np", "4",
                                      "-c", "4096", "-t", str(self.threads), "--no-webui"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    if r.status == 200:
                        return time.monotonic()
            except OSError:
                pass
            if self.proc.poll() is not None:
                sys.exit("llama-server exited at start")
            time.sleep(0.1)
        sys.exit("llama-server did not become ready")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        return time.monotonic()


def load(client, clients, seconds, events):
    """`clients` threads sending greedy chats back to back for `seconds`;
    `events` [(at_s, fn)] run by the main thread meanwhile. One record per request."""
    records, lock = [], threading.Lock()
    t0 = time.monotonic()
    stop = t0 + seconds

    def worker(i):
        k = 0
        while time.monotonic() < stop:
            q = QUESTIONS[(i + k) % len(QUESTIONS)]
            k += 1
            start = time.monotonic()
            rec = {"client": i, "start": start - t0}
            try:
                r = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": q}],
                                                   temperature=0, max_tokens=16)
                rec.update(outcome="served", deployment=r.cnai.deployment, cost=r.cnai.cost_usd,
                           attempts=[(a.deployment, a.error_code) for a in r.cnai.route.attempts])
            except cnai.Error as e:
                rec.update(outcome="error", code=str(getattr(e, "code", "")), error=str(e)[:200])
            except Exception as e:  # noqa: BLE001 - an untyped failure is what the check looks for
                rec.update(outcome="untyped", error=f"{type(e).__name__}: {e}"[:200])
            rec["end"] = time.monotonic() - t0
            with lock:
                records.append(rec)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    marks = {}
    for at, name, fn in events:
        delay = t0 + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        marks[name] = fn() - t0
    for t in threads:
        t.join()
    return records, marks


def summary(title, records):
    c = collections.Counter(r.get("deployment") if r["outcome"] == "served" else f"{r['outcome']}:{r.get('code', '')}"
                            for r in records)
    print(f"{title}: {len(records)} requests: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-server", type=Path, default=LLAMA_BIN / "llama-server")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=24)
    ap.add_argument("--cloud-threads", type=int, default=1)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    require(a.llama_server, MODEL)
    port = free_port()
    cloud = Cloud(a.llama_server, port, a.cloud_threads)
    env = {"CNAI_MODEL": str(MODEL), "CLOUD_URL": f"http://127.0.0.1:{port}/v1", "CLOUD_KEY": "not-checked"}
    failures = []
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Run 1: the cloud killed at 1/3 of the run, started again at 1/2.
        cfg = Path(tmp, "kill.yaml")
        cfg.write_text(CONFIG.format(price_in=0.1, price_out=0.4, budgets=""))
        cloud.start()
        client = cnai.Client(backend=cnai.Router.from_config_file(str(cfg), env=env))
        records, marks = load(client, a.clients, a.seconds,
                              [(a.seconds / 3, "killed", cloud.kill), (a.seconds / 2, "restarted", cloud.start)])
        cloud.kill()
        out["kill_restart"] = {"records": records, "marks": marks}
        print(f"cloud killed at {marks['killed']:.1f}s, ready again at {marks['restarted']:.1f}s")
        summary("kill/restart", records)
        bad = [r for r in records if r["outcome"] == "untyped"]
        if bad:
            failures.append(f"{len(bad)} untyped failures, e.g. {bad[0]['error']}")
        down = [r for r in records if r["outcome"] == "served" and r["deployment"] == "cloud"
                and r["start"] > marks["killed"] + 0.5 and r["end"] < marks["restarted"]]
        if down:
            failures.append(f"{len(down)} requests served by the cloud while it was down")
        during = [r for r in records if marks["killed"] + 0.5 < r["start"] and r["end"] < marks["restarted"]]
        local_during = sum(1 for r in during if r["outcome"] == "served" and r["deployment"] == "local")
        print(f"  while down: {len(during)} requests, {local_during} served by local")
        if during and local_during == 0:
            failures.append("nothing was served while the cloud was down")
        after = [r for r in records if r["outcome"] == "served" and r["deployment"] == "cloud"
                 and r["start"] > marks["restarted"]]
        print(f"  after the restart: {len(after)} served by the cloud")
        if not after:
            failures.append("the cloud served nothing after its restart")
        # The overflow reached the cloud before the kill (those in flight then failed over).
        before = sum(1 for r in records if r["outcome"] == "served" and r["start"] < marks["killed"]
                     and any(d == "cloud" for d, _ in r["attempts"]))
        print(f"  sent to the cloud before the kill: {before}")
        if before == 0:
            failures.append("no request went to the cloud before the kill (the overflow never reached it)")
        failed_over = sum(1 for r in records if r["outcome"] == "served" and r["deployment"] == "local"
                          and any(d == "cloud" and code for d, code in r["attempts"]))
        print(f"  served by local after a failed cloud attempt: {failed_over}")

        # Run 2: a budget on the cloud crossed mid-run; then everything is local.
        price_in, price_out = 50.0, 200.0  # USD per million tokens: a few requests cross the budget
        limit = 0.03  # about eight requests' estimates (16 output tokens at 200 USD per million: 0.0032)
        cfg = Path(tmp, "budget.yaml")
        cfg.write_text(CONFIG.format(price_in=price_in, price_out=price_out, budgets=(
            f"budgets:\n  - {{name: cloud-run, scope: deployment, deployment: cloud, limit: {limit}, period: day, "
            "action: reroute_local}\n")))
        cloud.start()
        client = cnai.Client(backend=cnai.Router.from_config_file(str(cfg), env=env))
        records, _ = load(client, a.clients, a.seconds / 2, [])
        cloud.kill()
        out["budget"] = {"records": records, "limit": limit}
        summary("budget", records)
        served = sorted((r for r in records if r["outcome"] == "served"), key=lambda r: r["end"])
        spend, crossed_at = 0.0, None
        for r in served:
            if r["deployment"] == "cloud":
                spend += r["cost"]
                if crossed_at is None and spend >= limit:
                    crossed_at = r["end"]
        # What may pass the limit: requests admitted before it was crossed
        # (each reserved its estimate: ~30 prompt + 16 output tokens).
        per_request_max = (64 * price_in + 16 * price_out) / 1e6
        print(f"  cloud spend {spend:.6f} USD of a {limit} budget; crossed at "
              f"{'never' if crossed_at is None else f'{crossed_at:.1f}s'}")
        if crossed_at is None:
            failures.append("the budget was never crossed")
        else:
            late = [r for r in served if r["deployment"] == "cloud" and r["start"] > crossed_at]
            if late:
                failures.append(f"{len(late)} cloud requests started after the budget was spent")
            local_after = sum(1 for r in served if r["deployment"] == "local" and r["start"] > crossed_at)
            print(f"  after crossing: {local_after} served by local")
            if local_after == 0:
                failures.append("nothing was served locally after the budget was crossed")
        if spend > limit + a.clients * per_request_max:
            failures.append(f"spend {spend} passed the budget {limit} by more than the requests in flight")
        refused = [r for r in records if r["outcome"] != "served"]
        if refused:
            failures.append(f"{len(refused)} requests not served in the budget run (reroute_local refuses none), "
                            f"e.g. {refused[0].get('error')}")
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))
    for f in failures:
        print("FAILED:", f)
    print("all checks hold" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
