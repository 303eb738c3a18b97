"""What the Python tests share: where the cnai program and the default model
are, with the project's rule for a missing model (fail when CNAI_REQUIRE_MODEL=1,
else skip with the reason)."""
import os
from pathlib import Path

import pytest

CNAI_BIN = os.environ.get("CNAI_BIN", "cnai")


def default_model_path() -> Path:
    return Path(os.environ.get("CNAI_MODEL") or Path.home() / ".cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf")


def default_model() -> Path:
    """The default model's path, or skip/fail the calling test when it is missing."""
    path = default_model_path()
    if not path.is_file():
        msg = f"default model {path} is missing (run scripts/fetch_model.sh, or set CNAI_MODEL)"
        if os.environ.get("CNAI_REQUIRE_MODEL") == "1":
            pytest.fail(msg + " and CNAI_REQUIRE_MODEL=1")
        pytest.skip(msg)
    return path


def gemma_model() -> Path:
    """Gemma 3 270M Q4_K_M (scripts/fetch_gemma.sh), or skip/fail as for the default model."""
    path = Path(os.environ.get("CNAI_GEMMA_MODEL") or default_model_path().with_name("gemma-3-270m-q4_k_m.gguf"))
    if not path.is_file():
        msg = f"Gemma model {path} is missing (run scripts/fetch_gemma.sh, or set CNAI_GEMMA_MODEL)"
        if os.environ.get("CNAI_REQUIRE_MODEL") == "1":
            pytest.fail(msg + " and CNAI_REQUIRE_MODEL=1")
        pytest.skip(msg)
    return path
