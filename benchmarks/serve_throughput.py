#!/usr/bin/env python3
"""Aggregate generated tokens/s over HTTP at 1, 8 and 16 concurrent clients:
`cnai serve` beside `llama-server -np 8` on the same model and machine,
alternating A/B per repetition. Each client sends non-streaming chat
requests (distinct prompts, temperature 0, max_tokens N) back to back for a
fixed time; tokens are the servers' own usage.completion_tokens.
With --stream the requests are streamed (SSE) and p50/p99 time to first token
and inter-token latency are reported too (--json: one entry per server and
concurrency).

  benchmarks/serve_throughput.py --cnai build/cnai --llama-server PATH [--clients 1,8,16] [--seconds 20]
  benchmarks/serve_throughput.py --cnai build/cnai --llama-server PATH --clients 1,2,4,8,16 --stream --json
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

MODEL = os.environ.get("CNAI_MODEL", os.path.expanduser("~/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, path, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + path, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


def post(url, body):
    req = urllib.request.Request(url + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def post_stream(url, body, ttft, itl):
    """Streams one chat completion; appends its time to first token and the gaps
    between content chunks (ms) and returns the completion tokens (usage)."""
    body = dict(body, stream=True, stream_options={"include_usage": True})
    req = urllib.request.Request(url + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    t0 = last = time.monotonic()
    first = True
    tokens = 0
    with urllib.request.urlopen(req, timeout=600) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[5:])
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
            choices = chunk.get("choices") or []
            if not choices or not choices[0].get("delta", {}).get("content"):
                continue
            now = time.monotonic()
            if first:
                ttft.append(1000 * (now - t0))
                first = False
            else:
                itl.append(1000 * (now - last))
            last = now
    return tokens


def percentile(v, p):
    if not v:
        return 0.0
    v = sorted(v)
    at = p / 100 * (len(v) - 1)
    lo = int(at)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (at - lo)


def run_load(url, clients, seconds, max_tokens, stream=False, lat=None):
    tokens = [0] * clients
    stop_at = time.monotonic() + seconds
    ttft, itl = ([], []) if lat is None else lat

    def client(i):
        n = 0
        while time.monotonic() < stop_at:
            body = {"model": "m", "max_tokens": max_tokens, "temperature": 0,
                    "messages": [{"role": "user", "content": f"Tell me a long story about a dog called Pepper {i}-{n}."}]}
            if stream:
                tokens[i] += post_stream(url, body, ttft, itl)
            else:
                tokens[i] += post(url, body)["usage"]["completion_tokens"]
            n += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(tokens) / (time.monotonic() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnai", required=True)
    ap.add_argument("--llama-server")
    ap.add_argument("--clients", default="1,8,16")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--stream", action="store_true", help="stream (SSE) and report TTFT / ITL percentiles")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    servers = {}
    procs = []
    try:
        port = free_port()
        procs.append(subprocess.Popen([args.cnai, "serve", "--port", str(port), "--queue", "none", "-m", MODEL,
                                       "-t", str(args.threads), "--compute-threads", "16", "--max-queued", "64"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        servers["cnai serve"] = f"http://127.0.0.1:{port}"
        if args.llama_server:
            port = free_port()
            procs.append(subprocess.Popen([args.llama_server, "-m", MODEL, "--port", str(port), "-np", "8",
                                           "-c", str(8 * 1024), "-t", str(args.threads), "--no-webui"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            servers["llama-server -np 8"] = f"http://127.0.0.1:{port}"
        for name, url in servers.items():
            wait_ready(url, "/health" if name.startswith("llama") else "/readyz")
        results = {(n, c): [] for n in servers for c in map(int, args.clients.split(","))}
        lats = {k: ([], []) for k in results}
        for rep in range(args.reps):
            for c in map(int, args.clients.split(",")):
                order = list(servers.items()) if rep % 2 == 0 else list(reversed(servers.items()))
                for name, url in order:
                    results[(name, c)].append(run_load(url, c, args.seconds, args.max_tokens, args.stream,
                                                       lats[(name, c)]))
        if args.json:
            out = []
            for (name, c), v in results.items():
                ttft, itl = lats[(name, c)]
                entry = {"server": name, "concurrency": c, "aggregate_tokens_per_s": statistics.mean(v),
                         "reps": v}
                if args.stream:
                    entry.update(ttft_p50_ms=percentile(ttft, 50), ttft_p99_ms=percentile(ttft, 99),
                                 itl_p50_ms=percentile(itl, 50), itl_p99_ms=percentile(itl, 99))
                out.append(entry)
            print(json.dumps({"load": os.getloadavg(), "max_tokens": args.max_tokens, "results": out}))
            return 0
        print(f"load: {os.getloadavg()}")
        print(f"{'server':<22}{'clients':>8}{'tokens/s (mean ± sd over reps)':>36}")
        for (name, c), v in results.items():
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            extra = ""
            if args.stream:
                ttft, itl = lats[(name, c)]
                extra = (f"   ttft p50/p99 {percentile(ttft, 50):.0f}/{percentile(ttft, 99):.0f} ms"
                         f"   itl p50/p99 {percentile(itl, 50):.1f}/{percentile(itl, 99):.1f} ms")
            print(f"{name:<22}{c:>8}{statistics.mean(v):>24.1f} ± {sd:.1f}   {['%.1f' % x for x in v]}{extra}")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
