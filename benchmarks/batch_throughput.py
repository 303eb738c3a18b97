#!/usr/bin/env python3
"""Batch-job throughput on Redis Streams with 1 and 2 `cnai worker`
processes: a batch of N /v1/chat/completions lines through the official
openai SDK, timed from create to completed; lines/s and generated tokens/s.
Starts its own redis-server and cnai processes on free loopback ports.

  benchmarks/batch_throughput.py --cnai build/cnai [--lines 24] [--workers 1,2] [--threads 1]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from openai import OpenAI

MODEL = os.environ.get("CNAI_MODEL", os.path.expanduser("~/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise TimeoutError


def ready(url):
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def one_run(cnai, workers, lines, tokens, threads, tmp):
    procs = []
    try:
        rport = free_port()
        procs.append(subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--dir", tmp,
                                       "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
                                      stdout=subprocess.DEVNULL))
        queue = f"redis://127.0.0.1:{rport}"
        until(lambda: subprocess.run(["redis-cli", "-p", str(rport), "PING"], capture_output=True, text=True).stdout.strip() == "PONG", 15)
        port = free_port()
        procs.append(subprocess.Popen([cnai, "serve", "--port", str(port), "--queue", queue, "--workers", "0", "-m", MODEL,
                                       "-t", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for w in range(workers):
            procs.append(subprocess.Popen([cnai, "worker", "--queue", queue, "-m", MODEL, "-t", str(threads),
                                           "--consumer", f"w{w}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{port}"
        until(lambda: ready(url), 60)
        client = OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
        content = "".join(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
                                      "body": {"model": "m", "max_tokens": tokens, "temperature": 0,
                                               "messages": [{"role": "user", "content": f"Tell a story about Pepper {i}."}]}}) + "\n"
                          for i in range(lines))
        f = client.files.create(file=("in.jsonl", content.encode()), purpose="batch")
        time.sleep(2)  # workers have loaded the model
        t0 = time.monotonic()
        b = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
        done = until(lambda: (x := client.batches.retrieve(b.id)).status in ("completed", "failed") and x, 1800)
        elapsed = time.monotonic() - t0
        out = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
        gen = sum(x["response"]["body"]["usage"]["completion_tokens"] for x in out)
        return elapsed, len(out), gen
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnai", required=True)
    ap.add_argument("--lines", type=int, default=24)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--threads", type=int, default=1, help="compute threads per worker")
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    print(f"load before: {os.getloadavg()}")
    for rep in range(args.reps):
        counts = list(map(int, args.workers.split(",")))
        for w in (counts if rep % 2 == 0 else reversed(counts)):
            tmp = tempfile.mkdtemp(prefix="cnai-batch-bench-")
            try:
                elapsed, n, gen = one_run(args.cnai, w, args.lines, args.tokens, args.threads, tmp)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            print(f"rep {rep} workers {w}: {n} lines in {elapsed:.1f}s = {n / elapsed:.2f} lines/s, {gen / elapsed:.1f} tokens/s")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
