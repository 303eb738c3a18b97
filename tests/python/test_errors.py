"""cnai::Error -> cnai.Error subclasses named as openai-python's: every code
has its class, real failures (bad fields, missing and corrupt models, a full
context, HTTP statuses from a real loopback server, refused connections,
deadlines) raise the right one with the code and upstream status."""
import http.server
import json
import socket
import threading

import openai
import pytest

import cnai
from conftest import FRANCE

OPENAI_NAMES = {
    "invalid_argument": "BadRequestError", "unauthorized": "AuthenticationError", "not_found": "NotFoundError",
    "rate_limited": "RateLimitError", "timeout": "APITimeoutError", "unavailable": "APIConnectionError",
    "internal": "InternalServerError",
}


@pytest.mark.parametrize("code", cnai._cnai.error_codes())
def test_every_code_raises_a_cnai_error_subclass(code):
    with pytest.raises(cnai.Error) as info:
        cnai._cnai._raise(code, "what happened")
    e = info.value
    assert e.code == code and e.message == "what happened"
    assert e.status_code == cnai._cnai.http_status_for(code)
    assert e.upstream_status is None
    if code in OPENAI_NAMES:
        assert type(e).__name__ == OPENAI_NAMES[code]
        # the same place in the hierarchy as openai's class of that name
        ours = [c.__name__ for c in type(e).__mro__ if c.__module__.startswith("cnai")]
        theirs = [c.__name__ for c in getattr(openai, OPENAI_NAMES[code]).__mro__ if c.__module__.startswith("openai")]
        assert ours[: len(theirs) - 1] == theirs[:-1]  # openai's root OpenAIError is cnai.Error here


def test_upstream_status_is_carried():
    with pytest.raises(cnai.RateLimitError) as info:
        cnai._cnai._raise("rate_limited", "slow down", 429)
    assert info.value.upstream_status == 429 and info.value.retryable
    assert "slow down" in info.value.upstream_message


def test_a_bad_field_names_it(client):
    with pytest.raises(cnai.BadRequestError, match="temperature") as info:
        client.chat.completions.create(messages=FRANCE, temperature=7)
    assert info.value.code == "invalid_argument" and info.value.status_code == 400
    with pytest.raises(cnai.BadRequestError, match="role"):
        client.chat.completions.create(messages=[{"role": "wizard", "content": "hi"}])
    with pytest.raises(cnai.BadRequestError):
        client.chat.completions.create(messages=[])


def test_missing_and_corrupt_models(tmp_path):
    with pytest.raises(cnai.NotFoundError):
        cnai.Client(model=str(tmp_path / "nothing.gguf"))
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\xff" * 64)
    with pytest.raises(cnai.ModelFormatError) as info:
        cnai.Client(model=str(bad))
    assert isinstance(info.value, cnai.BadRequestError)


def test_context_overflow(model_path):
    small = cnai.Client(model=model_path, n_ctx=64, threads=1)
    with pytest.raises(cnai.ContextLengthExceededError):
        small.chat.completions.create(messages=[{"role": "user", "content": "Paris " * 200}])


def test_deadline_is_an_api_timeout(client):
    with pytest.raises(cnai.APITimeoutError) as info:
        client.chat.completions.create(messages=FRANCE, max_tokens=400, timeout=0.005)
    assert isinstance(info.value, cnai.APIConnectionError)


class _StatusServer(http.server.BaseHTTPRequestHandler):
    status = 401

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"error": {"message": f"status {self.status} from the test server", "type": "x"}}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status,cls", [(401, cnai.AuthenticationError), (404, cnai.NotFoundError),
                                        (429, cnai.RateLimitError), (400, cnai.BadRequestError)])
def test_http_statuses_of_a_real_server(status, cls):
    handler = type("H", (_StatusServer,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        c = cnai.Client(base_url=f"http://127.0.0.1:{server.server_port}/v1", api_key="k", max_retries=0)
        with pytest.raises(cls) as info:
            c.chat.completions.create(model="m", messages=FRANCE)
        assert info.value.upstream_status == status
        assert f"status {status} from the test server" in str(info.value) + info.value.upstream_message
    finally:
        server.shutdown()


def test_refused_connection_is_an_api_connection_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    c = cnai.Client(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0)
    with pytest.raises(cnai.APIConnectionError):
        c.chat.completions.create(model="m", messages=FRANCE)
