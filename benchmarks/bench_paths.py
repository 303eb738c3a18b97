"""Where the benchmark scripts find cnai's build, the model cache and llama.cpp's tools.

One place for the rule the scripts share: the cache is $CNAI_CACHE_DIR, else ~/.cache/cnai
(as cnai::default_cache_dir); llama.cpp's tools are in its llama.cpp/bin, built by
scripts/fetch_llama_cpp.sh; the cnai program is $CNAI_BUILD_DIR/cnai, else build/cnai.
"""
import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("CNAI_CACHE_DIR") or Path.home() / ".cache" / "cnai")
LLAMA_BIN = CACHE / "llama.cpp" / "bin"
CNAI = Path(os.environ.get("CNAI_BUILD_DIR") or ROOT / "build") / "cnai"


def side_by_side_parser(doc, llama_tool):
    """The arguments of a script that runs cnai beside one of llama.cpp's tools on the same
    GGUF files: the files, threads, both programs and --json. parse_side_by_side reads them."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", type=Path)
    p.add_argument("-t", "--threads", type=int, default=2)
    p.add_argument("--cnai", type=Path, default=CNAI)
    p.add_argument(f"--{llama_tool}", type=Path, default=LLAMA_BIN / llama_tool)
    p.add_argument("--json", type=Path, help="also write the rows here")
    p.set_defaults(llama_tool=llama_tool.replace("-", "_"))
    return p


def parse_side_by_side(p):
    """The parsed arguments, once both programs exist (see require)."""
    a = p.parse_args()
    require(a.cnai, getattr(a, a.llama_tool))
    return a


def require(*paths):
    """Exits with what builds each missing program or file."""
    for path in paths:
        if not Path(path).exists():
            name = Path(path).name
            how = ("scripts/fetch_llama_cpp.sh builds llama.cpp's tools" if name.startswith("llama-")
                   else "build cnai with scripts/build.sh" if name == "cnai" else "scripts/setup.sh fetches it")
            sys.exit(f"{path} not found ({how})")
