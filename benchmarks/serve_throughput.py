#!/usr/bin/env python3
"""Aggregate generated tokens/s over HTTP at 1, 8 and 16 concurrent clients:
`cnai serve` beside `llama-server -np 8` on the same model and machine,
alternating A/B per repetition. Each client sends non-streaming chat
requests (distinct prompts, temperature 0, max_tokens N) back to back for a
fixed time; tokens are the servers' own usage.completion_tokens.

  benchmarks/serve_throughput.py --cnai build/cnai --llama-server PATH [--clients 1,8,16] [--seconds 20]
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


def run_load(url, clients, seconds, max_tokens):
    tokens = [0] * clients
    stop_at = time.monotonic() + seconds

    def client(i):
        n = 0
        while time.monotonic() < stop_at:
            body = {"model": "m", "max_tokens": max_tokens, "temperature": 0,
                    "messages": [{"role": "user", "content": f"Tell me a long story about a dog called Pepper {i}-{n}."}]}
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
        for rep in range(args.reps):
            for c in map(int, args.clients.split(",")):
                order = list(servers.items()) if rep % 2 == 0 else list(reversed(servers.items()))
                for name, url in order:
                    results[(name, c)].append(run_load(url, c, args.seconds, args.max_tokens))
        print(f"load: {os.getloadavg()}")
        print(f"{'server':<22}{'clients':>8}{'tokens/s (mean ± sd over reps)':>36}")
        for (name, c), v in results.items():
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            print(f"{name:<22}{c:>8}{statistics.mean(v):>24.1f} ± {sd:.1f}   {['%.1f' % x for x in v]}")
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
