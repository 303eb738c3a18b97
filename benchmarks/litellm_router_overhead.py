#!/usr/bin/env python3
"""LiteLLM's Router beside cnai's, on the same loopback server (optional; not
in the project's requirements).

Starts a loopback OpenAI-compatible server (the reply bench_router.cpp uses),
then measures per request, single-threaded, non-streaming:
  direct:  litellm.completion() on the server
  routed:  litellm.Router(one deployment behind an alias).completion()
and prints p50/p99 of each and what the router adds. With --cnai-bench PATH it
also runs build/benchmarks/cnai_bench_router against the same server
(CNAI_BENCH_ROUTER_URL) for the side-by-side figure.

  python3 -m venv ~/.cache/cnai/litellm-venv
  ~/.cache/cnai/litellm-venv/bin/pip install litellm
  ~/.cache/cnai/litellm-venv/bin/python benchmarks/litellm_router_overhead.py \\
      --cnai-bench build/benchmarks/cnai_bench_router
"""
import argparse
import http.server
import json
import os
import socket
import statistics
import subprocess
import threading
import time

REPLY = json.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! I am fine, thanks."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
}).encode()


RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(REPLY)).encode() +
            b"\r\n\r\n" + REPLY)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.wfile.write(RESPONSE)  # one write: no delayed-ACK stall between head and body

    def log_message(self, *args):
        pass


def percentile(samples, q):
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e6)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--cnai-bench", help="path of cnai_bench_router, run against the same server")
    args = ap.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch at import
    import litellm
    from litellm import Router

    litellm.telemetry = False
    params = {"model": "openai/gpt-4o-mini", "api_base": base, "api_key": "test"}
    messages = [{"role": "user", "content": "Hello there, how are you?"}]
    router = Router(model_list=[{"model_name": "chat", "litellm_params": dict(params)}], num_retries=0)

    def direct():
        litellm.completion(messages=messages, max_tokens=32, **params)

    def routed():
        router.completion(model="chat", messages=messages, max_tokens=32)

    for _ in range(50):  # warm up both paths (imports, connection pools)
        direct()
        routed()
    d, r = [], []
    for _ in range(args.n):  # alternate, as bench_router does
        d += timed(direct, 1)
        r += timed(routed, 1)
    from importlib.metadata import version
    print(f"litellm {version('litellm')} on {base}, n={args.n}, 1 thread, not streamed")
    print(f"  direct litellm.completion: p50 {percentile(d, .5):9.1f} us   p99 {percentile(d, .99):9.1f} us")
    print(f"  litellm Router.completion: p50 {percentile(r, .5):9.1f} us   p99 {percentile(r, .99):9.1f} us")
    print(f"  LiteLLM Router adds:       p50 {percentile(r, .5) - percentile(d, .5):9.1f} us   "
          f"p99 {percentile(r, .99) - percentile(d, .99):9.1f} us   (mean {statistics.mean(r) - statistics.mean(d):.1f} us)")

    if args.cnai_bench:
        env = dict(os.environ, CNAI_BENCH_ROUTER_URL=base)
        out = subprocess.run([args.cnai_bench, "--benchmark_filter=BM_router_added/stream:0/.*threads:1$"],
                             env=env, capture_output=True, text=True, check=True).stdout
        print("cnai_bench_router on the same server:")
        print("\n".join(line for line in out.splitlines() if "BM_" in line))
    server.shutdown()


if __name__ == "__main__":
    main()
