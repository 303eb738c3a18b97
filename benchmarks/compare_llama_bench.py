#!/usr/bin/env python3
"""cnai bench beside llama.cpp's llama-bench, in one run, on the same files.

For each GGUF file the two tools alternate (llama-bench, then cnai bench,
`--rounds` times) with the same threads, prompt and generation lengths and
repetitions, so a change in the machine's load hits both alike. Prints one
row per file: prefill and decode tokens/s of each (mean of the rounds' means)
and cnai's ratio to llama.cpp's. --json writes the rows too.

    python3 benchmarks/compare_llama_bench.py \
        ~/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_K_M.gguf ~/.cache/cnai/models/gemma-3-270m-q4_k_m.gguf

llama-bench comes from scripts/fetch_llama_cpp.sh ($CNAI_CACHE_DIR/llama.cpp/bin).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("CNAI_CACHE_DIR") or Path.home() / ".cache" / "cnai")


def llama_bench(exe, model, a):
    out = subprocess.run([str(exe), "-m", str(model), "-t", str(a.threads), "-p", str(a.prompt), "-n", str(a.gen),
                          "-r", str(a.repeats), "-o", "json"], check=True, capture_output=True, text=True).stdout
    rows = json.loads(out)
    prefill = next(r["avg_ts"] for r in rows if r["n_prompt"] == a.prompt and r["n_gen"] == 0)
    decode = next(r["avg_ts"] for r in rows if r["n_gen"] == a.gen and r["n_prompt"] == 0)
    return prefill, decode


def cnai_bench(exe, model, a):
    out = subprocess.run([str(exe), "bench", "-m", str(model), "-t", str(a.threads), "-p", str(a.prompt), "-n",
                          str(a.gen), "-r", str(a.repeats), "--json"], check=True, capture_output=True, text=True).stdout
    o = json.loads(out.strip().splitlines()[-1])
    return o["prefill_tokens_per_s"], o["decode_tokens_per_s"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", type=Path)
    p.add_argument("-t", "--threads", type=int, default=2)
    p.add_argument("-p", "--prompt", type=int, default=128)
    p.add_argument("-n", "--gen", type=int, default=64)
    p.add_argument("-r", "--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2, help="alternations of the two tools per file")
    p.add_argument("--cnai", type=Path, default=Path(os.environ.get("CNAI_BUILD_DIR") or ROOT / "build") / "cnai")
    p.add_argument("--llama-bench", type=Path, default=CACHE / "llama.cpp" / "bin" / "llama-bench")
    p.add_argument("--json", type=Path, help="also write the rows here")
    a = p.parse_args()
    for exe in (a.cnai, a.llama_bench):
        if not exe.exists():
            sys.exit(f"{exe} not found (build cnai with scripts/build.sh; llama-bench with scripts/fetch_llama_cpp.sh)")
    rows = []
    print(f"threads {a.threads}, prompt {a.prompt}, generate {a.gen}, {a.repeats} repetitions x {a.rounds} rounds; "
          f"tokens/s, mean of rounds")
    print(f"{'model':44s} {'prefill llama':>13s} {'cnai':>8s} {'x':>5s}   {'decode llama':>12s} {'cnai':>8s} {'x':>5s}")
    for model in a.models:
        lp, ld, cp, cd = [], [], [], []
        for _ in range(a.rounds):
            x, y = llama_bench(a.llama_bench, model, a)
            lp.append(x), ld.append(y)
            x, y = cnai_bench(a.cnai, model, a)
            cp.append(x), cd.append(y)
        row = {"model": model.name, "llama_prefill": statistics.mean(lp), "cnai_prefill": statistics.mean(cp),
               "llama_decode": statistics.mean(ld), "cnai_decode": statistics.mean(cd),
               "rounds": {"llama_prefill": lp, "cnai_prefill": cp, "llama_decode": ld, "cnai_decode": cd}}
        row["prefill_ratio"] = row["cnai_prefill"] / row["llama_prefill"]
        row["decode_ratio"] = row["cnai_decode"] / row["llama_decode"]
        rows.append(row)
        print(f"{model.name:44s} {row['llama_prefill']:13.1f} {row['cnai_prefill']:8.1f} {row['prefill_ratio']:5.2f}   "
              f"{row['llama_decode']:12.1f} {row['cnai_decode']:8.1f} {row['decode_ratio']:5.2f}", flush=True)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
