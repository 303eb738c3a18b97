#!/usr/bin/env python3
"""cnai perplexity beside llama.cpp's llama-perplexity, on the same files, text and chunking.

For each GGUF file both tools score the same text in the same chunks (-c, --chunks: the
first half of each chunk is context, the second half is scored, as llama-perplexity does)
and the table gives both perplexities and cnai's relative difference. The exit status
is 1 when any file differs by more than --tolerance (1% by default), so the script can
gate a change to a kernel or an architecture. --json writes the rows.

    python3 benchmarks/compare_llama_perplexity.py -f text.txt --chunks 16 \\
        ~/.cache/cnai/models/SmolLM2-135M-Instruct.Q6_K.gguf ~/.cache/cnai/models/gemma-3-270m-q4_k_m.gguf

Without -f the text is the GNU licences Debian ships in /usr/share/common-licenses
(GPL-3, GFDL-1.3, Apache-2.0: about 70 kB, 16 chunks of 512 SmolLM2 tokens).
llama-perplexity comes from scripts/fetch_llama_cpp.sh ($CNAI_CACHE_DIR/llama.cpp/bin).
"""
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_paths import parse_side_by_side, side_by_side_parser

LICENSES = [Path("/usr/share/common-licenses") / n for n in ("GPL-3", "GFDL-1.3", "Apache-2.0")]
FINAL = re.compile(r"Final estimate: PPL = ([0-9.]+)")


def run_ppl(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    m = FINAL.search(r.stdout + r.stderr)
    if r.returncode != 0 or not m:
        sys.exit(f"{' '.join(map(str, cmd))} failed (exit {r.returncode}):\n{(r.stdout + r.stderr)[-2000:]}")
    return float(m.group(1))


def main():
    p = side_by_side_parser(__doc__, "llama-perplexity")
    p.add_argument("-f", "--file", type=Path, help="text to score (default: the Debian licence texts)")
    p.add_argument("-c", "--ctx", type=int, default=512)
    p.add_argument("--chunks", type=int, default=16)
    p.add_argument("--tolerance", type=float, default=0.01, help="largest relative difference accepted")
    a = parse_side_by_side(p)
    with tempfile.TemporaryDirectory() as tmp:
        text = a.file
        if text is None:
            missing = [str(f) for f in LICENSES if not f.is_file()]
            if missing:
                sys.exit(f"no -f given and {', '.join(missing)} missing (Debian's base-files ships them)")
            text = Path(tmp) / "licenses.txt"
            text.write_bytes(b"".join(f.read_bytes() for f in LICENSES))
        common = ["-f", str(text), "-c", str(a.ctx), "-t", str(a.threads), "--chunks", str(a.chunks)]
        rows = []
        print(f"{text}, -c {a.ctx}, {a.chunks} chunks, {a.threads} threads")
        print(f"{'model':38} {'llama.cpp':>10} {'cnai':>10} {'diff':>8}")
        for model in a.models:
            ref = run_ppl([str(a.llama_perplexity), "-m", str(model), *common])
            got = run_ppl([str(a.cnai), "perplexity", "-m", str(model), *common])
            rel = got / ref - 1.0
            rows.append({"model": model.name, "llama_ppl": ref, "cnai_ppl": got, "relative_difference": rel})
            print(f"{model.name:38} {ref:10.4f} {got:10.4f} {100 * rel:+7.2f}%", flush=True)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1) + "\n")
    worst = max(abs(r["relative_difference"]) for r in rows)
    if worst > a.tolerance:
        print(f"largest difference {100 * worst:.2f}% exceeds {100 * a.tolerance:.2f}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
