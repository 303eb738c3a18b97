"""`cnai run --provider openai` against a loopback HTTP server written here
(the standard library's, on 127.0.0.1): answers printed whole (NUL bytes
included), server text escaped in errors, --timeout bounding a hung upstream,
and out-of-range sampling reported before any request is sent."""
import http.server
import json
import os
import subprocess
import threading
import time

import pytest

from cnai_support import CNAI_BIN


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Upstream.requests.append(json.loads(body))
        mode = self.server.mode
        if mode == "hang":
            time.sleep(30)
            return
        if mode == "evil-error":
            payload = json.dumps({"error": {"message": "\x1b[2J\x1b]0;pwned\x07 gone", "type": "invalid_request_error"}})
            status = 400
        else:
            message = {"role": "assistant", "content": "a\x00b",
                       "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f\x00g", "arguments": "{}"}}]}
            payload = json.dumps({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                                  "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                                  "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}})
            status = 200
        data = payload.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def upstream():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    server.mode = "ok"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run(server, *args, timeout=60):
    env = dict(os.environ, OPENAI_API_KEY="sk-test")
    env.pop("HTTPS_PROXY", None)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return subprocess.run([CNAI_BIN, "run", "--provider", "openai", "--base-url", url, "--model", "m", "-p", "hi",
                           "--max-retries", "0", *args], capture_output=True, timeout=timeout, env=env)


def test_answers_and_tool_calls_are_printed_whole(upstream):
    out = run(upstream, "--no-stream")
    assert out.returncode == 0, out.stderr
    assert b"a\x00b\n" in out.stdout  # the NUL and what follows it
    assert b"[tool call f\x00g({})]" in out.stdout


def test_control_characters_of_a_server_error_are_escaped(upstream):
    upstream.mode = "evil-error"
    out = run(upstream, "--no-stream")
    assert out.returncode != 0
    assert b"\x1b" not in out.stderr and b"\x07" not in out.stderr
    assert b"\\x1b[2J" in out.stderr and b"gone" in out.stderr
    assert b"error [invalid_argument]" in out.stderr


def test_timeout_bounds_a_hung_upstream(upstream):
    upstream.mode = "hang"
    t0 = time.monotonic()
    out = run(upstream, "--no-stream", "--timeout", "1")
    elapsed = time.monotonic() - t0
    assert out.returncode != 0
    assert b"timeout" in out.stderr
    assert elapsed < 10, elapsed  # not the 600 s default
    bad = run(upstream, "--timeout", "0")
    assert bad.returncode == 2 and b"--timeout" in bad.stderr


def test_out_of_range_sampling_is_reported_before_any_request(upstream):
    Upstream.requests.clear()
    out = run(upstream, "--temperature", "-1")
    assert out.returncode == 2
    stderr = out.stderr.decode()
    assert "error [invalid_argument]: temperature must be in [0, 2], got -1" in stderr, stderr
    assert Upstream.requests == []  # refused by the client, nothing sent
