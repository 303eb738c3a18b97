#!/usr/bin/env python3
"""cnai bench beside llama.cpp's llama-bench, in one run, on the same files.

For each GGUF file the two tools alternate (llama-bench, then cnai bench,
`--rounds` times) with the same threads, prompt and generation lengths, depth
and repetitions, so a change in the machine's load hits both alike. Prints one
row per file: prefill and decode tokens/s of each (mean of the rounds' means),
cnai's ratio to llama.cpp's, the range of the per-round ratios (each round's
two runs are adjacent in time, so a ratio is paired against the same load),
and decode's weight traffic: file bytes x decode tokens/s, which on a model
whose output matrix is its embedding (both here) is the bytes every step
reads, to set beside the machine's memory bandwidth. --json writes the rows.

Both tools time prefill and decode each from a cache of --depth tokens
(llama-bench's -d; default 0, its default): decode costs more as the context
grows, so the two must start it at the same depth. -d 128 measures both at
the depth a 128-token prompt leaves.

    python3 benchmarks/compare_llama_bench.py \
        ~/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_K_M.gguf ~/.cache/cnai/models/gemma-3-270m-q4_k_m.gguf

llama-bench comes from scripts/fetch_llama_cpp.sh ($CNAI_CACHE_DIR/llama.cpp/bin).
"""
import json
import statistics
import subprocess

from bench_paths import parse_side_by_side, side_by_side_parser


def llama_bench(exe, model, a):
    out = subprocess.run([str(exe), "-m", str(model), "-t", str(a.threads), "-p", str(a.prompt), "-n", str(a.gen),
                          "-d", str(a.depth),
                          "-r", str(a.repeats), "-o", "json"], check=True, capture_output=True, text=True).stdout
    rows = json.loads(out)
    rows = [r for r in rows if r.get("n_depth", 0) == a.depth]
    prefill = next(r["avg_ts"] for r in rows if r["n_prompt"] == a.prompt and r["n_gen"] == 0)
    decode = next(r["avg_ts"] for r in rows if r["n_gen"] == a.gen and r["n_prompt"] == 0)
    return prefill, decode


def cnai_bench(exe, model, a):
    out = subprocess.run([str(exe), "bench", "-m", str(model), "-t", str(a.threads), "-p", str(a.prompt), "-n",
                          str(a.gen), "-d", str(a.depth), "-r", str(a.repeats), "--json"], check=True, capture_output=True, text=True).stdout
    o = json.loads(out.strip().splitlines()[-1])
    return o["prefill_tokens_per_s"], o["decode_tokens_per_s"]


def main():
    p = side_by_side_parser(__doc__, "llama-bench")
    p.add_argument("-p", "--prompt", type=int, default=128)
    p.add_argument("-n", "--gen", type=int, default=64)
    p.add_argument("-d", "--depth", type=int, default=0, help="tokens in the cache before each timed run")
    p.add_argument("-r", "--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2, help="alternations of the two tools per file")
    a = parse_side_by_side(p)
    rows = []
    print(f"threads {a.threads}, prompt {a.prompt}, generate {a.gen}, depth {a.depth}, {a.repeats} repetitions x {a.rounds} rounds; "
          f"tokens/s, mean of rounds; [min-max of the per-round ratios]; decode GB/s = file bytes x tokens/s")
    print(f"{'model':38s} {'prefill llama':>13s} {'cnai':>7s} {'x':>5s} {'[rounds]':>11s}   {'decode llama':>12s} "
          f"{'cnai':>6s} {'x':>5s} {'[rounds]':>11s}  {'GB/s llama':>10s} {'cnai':>5s}")
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
        row["prefill_round_ratios"] = [c / l for c, l in zip(cp, lp)]
        row["decode_round_ratios"] = [c / l for c, l in zip(cd, ld)]
        size = model.stat().st_size
        row["decode_gb_per_s"] = {"llama": size * row["llama_decode"] / 1e9, "cnai": size * row["cnai_decode"] / 1e9}
        rows.append(row)
        span = lambda v: f"[{min(v):.2f}-{max(v):.2f}]"  # noqa: E731
        print(f"{model.name:38s} {row['llama_prefill']:13.1f} {row['cnai_prefill']:7.1f} {row['prefill_ratio']:5.2f} "
              f"{span(row['prefill_round_ratios']):>11s}   {row['llama_decode']:12.1f} {row['cnai_decode']:6.1f} "
              f"{row['decode_ratio']:5.2f} {span(row['decode_round_ratios']):>11s}  "
              f"{row['decode_gb_per_s']['llama']:10.1f} {row['decode_gb_per_s']['cnai']:5.1f}", flush=True)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
