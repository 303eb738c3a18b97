#!/usr/bin/env python3
"""Per-call overhead of the Python surface (cnai.Client, cnai.AsyncClient)
over the C++ API, non-streaming and per streamed chunk, side by side in one
run: the C++ numbers come from bench_chat_call (Google Benchmark) on the same
tiny model and the same requests. A tiny model (written here with the
reference tests' generator) keeps the forward pass small so the call
machinery shows; medians of --reps calls.

  PYTHONPATH=build/python benchmarks/python_overhead.py --bench build/benchmarks/cnai_bench_chat_call [--reps 300]
"""
import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reference"))
from make_tiny_models import TinySpec, write_tiny_model  # noqa: E402

import cnai  # noqa: E402

BODY = dict(messages=[{"role": "user", "content": "Hi"}], temperature=0, logit_bias={"2": -100})
LONG = 33  # tokens of a streamed call: per chunk = (time(LONG) - time(1)) / (chunks(LONG) - chunks(1))


def median_us(fn, reps):
    for _ in range(max(3, reps // 20)):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def cpp_numbers(bench, model, reps):
    out = subprocess.run([bench, "--benchmark_format=json", "--benchmark_min_time=0.5",
                          "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"],
                         env={"CNAI_MODEL": str(model)}, capture_output=True, text=True, check=True)
    res = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            res[b["run_name"]] = (b["real_time"], b.get("chunks", 0.0))
    call = res["BM_chat_call"][0]
    (t1, c1), (tl, cl) = res["BM_chat_stream/1"], res[f"BM_chat_stream/{LONG}"]
    return call, (tl - t1) / (cl - c1)


def python_numbers(model, reps):
    client = cnai.Client(model=str(model), threads=1, chatml_fallback=True)
    native = client.backend
    request = cnai.ChatRequest.from_dict({"model": "", **BODY, "max_tokens": 1})
    raw_call = median_us(lambda: native.chat(request), reps)
    call = median_us(lambda: client.chat.completions.create(**BODY, max_tokens=1), reps)

    def stream(n):
        chunks = 0
        for _ in client.chat.completions.create(**BODY, max_tokens=n, stream=True):
            chunks += 1
        return chunks

    c1, cl = stream(1), stream(LONG)
    per_chunk = (median_us(lambda: stream(LONG), reps // 3) - median_us(lambda: stream(1), reps // 3)) / (cl - c1)

    aclient = cnai.AsyncClient(backend=native)

    async def astream(n):
        s = await aclient.chat.completions.create(**BODY, max_tokens=n, stream=True)
        async for _ in s:
            pass

    async def acall():
        await aclient.chat.completions.create(**BODY, max_tokens=1)

    loop = asyncio.new_event_loop()
    async_call = median_us(lambda: loop.run_until_complete(acall()), reps)
    async_chunk = (median_us(lambda: loop.run_until_complete(astream(LONG)), reps // 3) -
                   median_us(lambda: loop.run_until_complete(astream(1)), reps // 3)) / (cl - c1)
    loop.close()
    return raw_call, call, per_chunk, async_call, async_chunk


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="the cnai_bench_chat_call program")
    ap.add_argument("--reps", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = write_tiny_model(Path(tmp) / "tiny.gguf", TinySpec(arch="llama", wtype="F32", n_ctx=512))
        cpp_call, cpp_chunk = cpp_numbers(args.bench, model, args.reps)
        raw_call, call, chunk, async_call, async_chunk = python_numbers(model, args.reps)
    rows = [
        ("chat call, C++ LocalEngine::chat", cpp_call, None),
        ("chat call, Python native binding (Backend.chat)", raw_call, raw_call - cpp_call),
        ("chat call, cnai.Client", call, call - cpp_call),
        ("chat call, cnai.AsyncClient", async_call, async_call - cpp_call),
        ("per chunk, C++ chat_stream callback", cpp_chunk, None),
        ("per chunk, cnai.Client stream", chunk, chunk - cpp_chunk),
        ("per chunk, cnai.AsyncClient stream", async_chunk, async_chunk - cpp_chunk),
    ]
    print(f"{'what':52} {'us':>9} {'overhead us':>12}")
    for name, us, over in rows:
        print(f"{name:52} {us:9.1f} {'' if over is None else f'{over:12.1f}'}")
    print(json.dumps({name: {"us": round(us, 2), "overhead_us": None if over is None else round(over, 2)}
                      for name, us, over in rows}))


if __name__ == "__main__":
    main()
