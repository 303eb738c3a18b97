"""Fixtures of the cnai Python module's tests: the module from the build tree
(PYTHONPATH=<build>/python, set by ctest) or an installed wheel, and one
engine per model shared by the tests (loading is the slow part)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import cnai_support  # noqa: E402

import cnai  # noqa: E402

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
FRANCE = [SYSTEM, {"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="session")
def model_path() -> str:
    return str(cnai_support.default_model())


@pytest.fixture(scope="session")
def embedding_model_path() -> str:
    path = cnai_support.default_model_path().with_name("all-MiniLM-L6-v2.Q8_0.gguf")
    if not path.is_file():
        cnai_support.missing_input(f"default embedding model {path}", "run scripts/fetch_embedding_model.sh")
    return str(path)


@pytest.fixture(scope="session")
def engine(model_path) -> cnai.LocalEngine:
    return cnai.LocalEngine.load(model_path, threads=1)


@pytest.fixture(scope="session")
def client(engine) -> cnai.Client:
    return cnai.Client(backend=engine)
