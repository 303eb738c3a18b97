#!/usr/bin/env python3
"""Writes Q8_0 and F16 copies of the default model (same shape and metadata) into the
cache, for benchmarking other weight types: scripts/make_model_variants.py [TYPE ...]."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reference"))
from make_tiny_models import write_float_copy  # noqa: E402

cache = Path(os.environ.get("CNAI_CACHE_DIR", Path.home() / ".cache" / "cnai")) / "models"
src = cache / "SmolLM2-135M-Instruct.Q4_1.gguf"
for wtype in sys.argv[1:] or ["Q8_0", "F16"]:
    dst = cache / f"SmolLM2-135M-Instruct.{wtype}.gguf"
    if not dst.exists():
        write_float_copy(src, dst.with_suffix(".part"), wtype).rename(dst)
    print(dst)
