"""What the Python tests share: where the cnai program, the default model and
../shared/data are, and the one rule for a missing input (the same as the C++
tests' support/default_model.hpp): fail when CNAI_REQUIRE_MODEL=1 (CI), else
skip saying what is missing and how to get it."""
import os
from pathlib import Path

import pytest

CNAI_BIN = os.environ.get("CNAI_BIN", "cnai")


def default_model_path() -> Path:
    return Path(os.environ.get("CNAI_MODEL") or Path.home() / ".cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf")


def inputs_required() -> bool:
    return os.environ.get("CNAI_REQUIRE_MODEL") == "1"


def missing_input(what: str, how: str):
    """Fails (CNAI_REQUIRE_MODEL=1) or skips the calling test; does not return."""
    msg = f"{what} is missing ({how})"
    if inputs_required():
        pytest.fail(msg + " and CNAI_REQUIRE_MODEL=1")
    pytest.skip(msg)


def default_model() -> Path:
    """The default model's path, or skip/fail the calling test when it is missing."""
    path = default_model_path()
    if not path.is_file():
        missing_input(f"default model {path}", "run scripts/fetch_model.sh, or set CNAI_MODEL")
    return path


SHARED_DATA = Path(os.environ.get("CNAI_SHARED_DATA_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "data")


def shared_data(relative: str) -> Path:
    """SHARED_DATA / relative, or skip/fail the calling test when it is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        missing_input(f"shared test data {path}", "set CNAI_SHARED_DATA_DIR to the shared data folder")
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
