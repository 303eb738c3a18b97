"""The examples run as a user runs them: the FastAPI app under uvicorn (a real
server on loopback, called over HTTP with streaming), and the local RAG script."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai.types.chat
import pytest
import requests

import cnai

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"
# The cnai these tests imported (the build tree's, or an installed wheel), for the child processes.
PYTHONPATH = os.pathsep.join([str(Path(cnai.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fastapi_server(model_path):
    port = free_port()
    env = {**os.environ, "CNAI_MODEL": model_path, "PYTHONPATH": PYTHONPATH}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "fastapi_app:app", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"], cwd=EXAMPLES, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"uvicorn exited: {proc.stdout.read()}")
        try:
            requests.get(base + "/docs", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("uvicorn did not start within 60 s")
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def test_fastapi_streams_the_answer(fastapi_server):
    body = {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                         {"role": "user", "content": "What is the capital of France?"}], "max_tokens": 32}
    with requests.post(fastapi_server + "/chat", json=body, stream=True, timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line[len("data: "):] for line in r.iter_lines(decode_unicode=True) if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [openai.types.chat.ChatCompletionChunk.model_validate(json.loads(e)) for e in events[:-1]]
    assert len(chunks) >= 3  # streamed, not one piece
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "Paris" in text


def test_fastapi_bad_request(fastapi_server):
    r = requests.post(fastapi_server + "/chat", json={"messages": [{"role": "wizard", "content": "x"}]}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_argument"


def test_rag_script(model_path, embedding_model_path):
    env = {**os.environ, "CNAI_CACHE_DIR": str(Path(model_path).parent.parent), "PYTHONPATH": PYTHONPATH}
    out = subprocess.run([sys.executable, str(EXAMPLES / "rag.py"), "In which town is the Zorblax festival held?"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].endswith("The Zorblax festival is held every spring in the mountain town of Vellmoor.")
    answer = [l for l in lines if l.startswith("answer:")]
    assert answer and "Vellmoor" in answer[0]
