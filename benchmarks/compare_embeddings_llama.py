#!/usr/bin/env python3
"""Embedding throughput side by side: cnai (bench_embeddings: in-process callers through
LocalEngine and its DynamicBatcher) against llama.cpp's embedding server (llama-server
--embeddings, one HTTP connection per concurrent caller) on the same GGUF file, the same
~30-token sentences and 512-token passages, alternating A/B for each setting.

    compare_embeddings_llama.py [--model GGUF] [--llama-bin DIR] [--reps 3] [--concurrency 1 8 32 128]

Prints sentences/s per setting as mean ± spread over the repetitions, and the ratio."""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench_paths import CACHE, LLAMA_BIN

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = CACHE / "models" / "all-MiniLM-L6-v2.Q8_0.gguf"
DEFAULT_LLAMA = LLAMA_BIN

SUBJECTS = ["The committee", "A young engineer", "Our small team", "The old library", "Every morning the baker",
            "The research group", "My neighbour", "The city council"]
MIDDLES = ["carefully reviewed the proposal about renewable energy and public transport",
           "decided to publish the results of the long experiment on plant growth",
           "spent the whole afternoon discussing how to improve the local school",
           "wrote a detailed report on the history of the river and its bridges",
           "organised a festival with music, food and games for every family",
           "measured the temperature of the lake at dawn for several weeks",
           "repaired the broken clock tower after the storm last winter",
           "compared three different methods for sorting large lists of numbers"]
# The same 64 sentences as bench_embeddings.cpp.
SENTENCES = [f"{a} {b} before the end of the very busy month of September." for a in SUBJECTS for b in MIDDLES]


def passage_512() -> str:
    """bench_embeddings' passage cut to 512 tokens ([CLS]/[SEP] included) by whole words."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(CACHE / "hf/all-MiniLM-L6-v2/tokenizer.json"))
    tok.no_truncation()
    words = " ".join(SENTENCES).split(" ")
    while len(tok.encode(" ".join(words)).ids) > 512:
        words.pop()
    return " ".join(words)


class LlamaServer:
    def __init__(self, bin_dir: Path, model: Path, slots: int, port: int, omp_wait_policy: str):
        ctx = 512 * slots
        self.port = port
        self.proc = subprocess.Popen(
            [str(bin_dir / "llama-server"), "-m", str(model), "--embeddings", "--pooling", "mean", "-t", "2",
             "-np", str(slots), "-c", str(ctx),  # llama.cpp's default batch sizes (-b 2048, -ub 512)
             "--host", "127.0.0.1", "--port", str(port), "--log-disable"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # OpenMP's default busy-wait collapses on a shared, oversubscribed machine
            # (seconds per request here); passive is llama.cpp's best case on it.
            env={**os.environ, "OMP_WAIT_POLICY": omp_wait_policy})
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.close()
        raise SystemExit("llama-server did not become healthy")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def throughput(self, texts: list[str], concurrency: int, seconds: float) -> float:
        """Requests of one input each from `concurrency` callers for `seconds`: inputs/s."""
        done = [0] * concurrency
        stop = time.time() + seconds
        errors: list[str] = []

        def caller(k: int):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            conn.connect()
            # One segment per request, no Nagle wait: the client must not be what is measured.
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            i = k * 7
            while time.time() < stop:
                body = json.dumps({"input": texts[i % len(texts)]}).encode()
                conn.request("POST", "/v1/embeddings", body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                payload = r.read()
                if r.status != 200:
                    errors.append(payload[:200].decode(errors="replace"))
                    return
                done[k] += 1
                i += 1

        start = time.time()
        threads = [threading.Thread(target=caller, args=(k,)) for k in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise SystemExit(f"llama-server error: {errors[0]}")
        return sum(done) / (time.time() - start)


def cnai_throughput(bench: Path, model: Path, name: str, threads: int, seconds: float, precise: bool) -> float:
    flt = f"^{name}/min_time:3.000/real_time/threads:{threads}$"
    proc = subprocess.run([str(bench), f"--benchmark_filter={flt}", f"--benchmark_min_time={seconds}",
                           "--benchmark_format=json"], capture_output=True, text=True,
                          env={**os.environ, "CNAI_EMBEDDING_MODEL": str(model),
                               "CNAI_PRECISE_ACTIVATIONS": "1" if precise else "0"}, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    runs = json.loads(proc.stdout)["benchmarks"]
    if not runs:
        raise SystemExit(f"no benchmark matched {flt}")
    return runs[0]["items_per_second"]


def summary(xs: list[float]) -> str:
    return f"{statistics.mean(xs):8.1f} ± {(max(xs) - min(xs)) / 2:6.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--llama-bin", type=Path, default=DEFAULT_LLAMA)
    ap.add_argument("--bench", type=Path, default=ROOT / "build/benchmarks/cnai_bench_embeddings")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 128])
    ap.add_argument("--passages", type=int, nargs="*", default=[1, 8, 32], help="concurrency for 512-token passages")
    ap.add_argument("--omp-wait-policy", default="passive", help="OMP_WAIT_POLICY for llama-server")
    ap.add_argument("--single-pass", action="store_true",
                    help="also run cnai with one integer pass per matmul (precise_activations off)")
    args = ap.parse_args()
    print(f"model {args.model}; llama-server OMP_WAIT_POLICY={args.omp_wait_policy}; load {os.getloadavg()}",
          flush=True)
    passage = passage_512()
    settings = [("sentences", c) for c in args.concurrency] + [("passages", c) for c in args.passages]
    rows = []
    for kind, conc in settings:
        server = LlamaServer(args.llama_bin, args.model, slots=conc, port=18400 + conc,
                             omp_wait_policy=args.omp_wait_policy)
        texts = SENTENCES if kind == "sentences" else [passage]
        bench_name = "BM_embed_sentences" if kind == "sentences" else "BM_embed_passages"
        ours, fast, theirs = [], [], []
        try:
            server.throughput(texts, conc, 1.0)  # warm-up
            for _ in range(args.reps):  # A/B alternated
                theirs.append(server.throughput(texts, conc, args.seconds))
                ours.append(cnai_throughput(args.bench, args.model, bench_name, conc, args.seconds, True))
                if args.single_pass:
                    fast.append(cnai_throughput(args.bench, args.model, bench_name, conc, args.seconds, False))
        finally:
            server.close()
        ratio = statistics.mean(ours) / statistics.mean(theirs)
        rows.append((kind, conc, ours, theirs, ratio))
        line = f"{kind:9s} x{conc:<3d}  cnai {summary(ours)}/s   llama.cpp {summary(theirs)}/s   ratio {ratio:5.2f}"
        if fast:
            line += f"   cnai one-pass {summary(fast)}/s ratio {statistics.mean(fast) / statistics.mean(theirs):5.2f}"
        print(line, flush=True)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
