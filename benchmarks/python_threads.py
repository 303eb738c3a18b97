#!/usr/bin/env python3
"""Aggregate generation throughput of Python threads sharing one cnai.Client
(the local engine batches their requests): tokens/s at 1, 2, 4 ... threads,
each thread sending --requests greedy requests of --tokens tokens, and how
many forward passes held more than one sequence.

  PYTHONPATH=build/python benchmarks/python_threads.py [--threads 1,2,4,8] [--tokens 64] [--requests 2]
"""
import argparse
import os
import threading
import time

import cnai

PROMPTS = ["Tell me a story about a dragon.", "Describe the city of Paris.", "Explain how rain forms.",
           "Write a poem about the sea.", "Tell me about the moon.", "Describe a forest in autumn.",
           "Explain what a computer does.", "Tell me a story about a robot."]


def run(client, n_threads, tokens, requests):
    generated = [0] * n_threads

    def worker(i):
        for k in range(requests):
            r = client.chat.completions.create(
                messages=[{"role": "user", "content": PROMPTS[(i + k) % len(PROMPTS)]}],
                temperature=0, max_tokens=tokens, logit_bias={"2": -100})  # token 2: SmolLM2's end of turn
            generated[i] += r.usage.completion_tokens

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(generated), time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2,4,8")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--requests", type=int, default=2)
    ap.add_argument("--compute-threads", type=int, default=2, help="the engine's compute threads")
    args = ap.parse_args()
    client = cnai.Client(model=os.environ.get("CNAI_MODEL") or None, threads=args.compute_threads)
    engine = client.backend
    run(client, 1, 8, 1)  # warm
    base = None
    print(f"{'threads':>7} {'tokens':>7} {'seconds':>8} {'tokens/s':>9} {'vs 1':>6} {'batched steps':>14}")
    for n in (int(x) for x in args.threads.split(",")):
        hist0 = engine.stats()["batch_size_histogram"]
        tokens, seconds = run(client, n, args.tokens, args.requests)
        hist1 = engine.stats()["batch_size_histogram"]
        delta = [b - (hist0[i] if i < len(hist0) else 0) for i, b in enumerate(hist1)]
        batched = sum(c for size, c in enumerate(delta) if size >= 2)
        rate = tokens / seconds
        base = base or rate
        print(f"{n:7d} {tokens:7d} {seconds:8.2f} {rate:9.1f} {rate / base:6.2f} {batched:7d}/{sum(delta):<6d}")


if __name__ == "__main__":
    main()
