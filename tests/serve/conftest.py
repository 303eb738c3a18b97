"""Fixtures for the `cnai serve` / `cnai worker` end-to-end tests: real
processes (the cnai program, redis-server, postgres from Debian packages)
started here on free loopback ports and always stopped, every wait bounded."""
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

CNAI_BIN = os.environ.get("CNAI_BIN", "")
MODEL = os.environ.get("CNAI_MODEL", os.path.expanduser("~/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf"))


def require_model():
    if not os.path.isfile(MODEL):
        if os.environ.get("CNAI_REQUIRE_MODEL") == "1":
            pytest.fail(f"default model missing at {MODEL} and CNAI_REQUIRE_MODEL=1")
        pytest.skip(f"default model missing at {MODEL} (run scripts/fetch_model.sh)")
    if not CNAI_BIN or not os.access(CNAI_BIN, os.X_OK):
        pytest.fail("CNAI_BIN must name the cnai program")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout=30.0, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(step)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def http_status(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


class Proc:
    """A child process with its log in a file; stopped by SIGTERM, then SIGKILL."""

    def __init__(self, args, log_path, env=None):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def text(self):
        return pathlib.Path(self.log_path).read_text(errors="replace")

    def alive(self):
        return self.p.poll() is None

    def kill9(self):
        if self.alive():
            self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=10)

    def stop(self, timeout=30):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        self.log.close()
        return self.p.returncode


class Cnai:
    """Starts `cnai serve` / `cnai worker` processes; stops them all at the end."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def serve(self, *extra, model=True, env=None):
        require_model()
        port = free_port()
        args = [CNAI_BIN, "serve", "--port", str(port), *extra]
        if model:
            args += ["-m", MODEL, "-t", "1"]
        proc = Proc(args, os.path.join(self.tmp, f"serve-{port}.log"), env=env)
        self.procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: not proc.alive() or http_status(base + "/readyz") == 200, 60, what="cnai serve /readyz")
        assert proc.alive(), proc.text()
        proc.base_url = base
        return proc

    def worker(self, *extra, name="w", model=True, env=None):
        require_model()
        args = [CNAI_BIN, "worker", "-t", "1", "--consumer", name, *extra]
        if model:
            args += ["-m", MODEL]
        proc = Proc(args, os.path.join(self.tmp, f"worker-{name}-{len(self.procs)}.log"), env=env)
        self.procs.append(proc)
        wait_until(lambda: not proc.alive() or "worker(s) on the queue" in proc.text(), 60, what="cnai worker start")
        assert proc.alive(), proc.text()
        return proc

    def stop_all(self):
        for p in reversed(self.procs):
            if not p.log.closed:
                p.stop()


@pytest.fixture
def tmpdir_path():
    d = tempfile.mkdtemp(prefix="cnai-serve-test-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def cnai(tmpdir_path):
    c = Cnai(tmpdir_path)
    yield c
    c.stop_all()


class Redis:
    def __init__(self, tmp):
        if not shutil.which("redis-server"):
            pytest.fail("redis-server is not installed (scripts/install_deps.sh)")
        self.port = free_port()
        self.dir = os.path.join(tmp, "redis")
        os.makedirs(self.dir)
        self.proc = Proc(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                          "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
                         os.path.join(tmp, "redis.log"))
        wait_until(lambda: self.cli("PING") == "PONG", 15, what="redis-server")
        self.url = f"redis://127.0.0.1:{self.port}"

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=10)
        return r.stdout.strip()


@pytest.fixture
def redis(tmpdir_path):
    r = Redis(tmpdir_path)
    yield r
    r.proc.stop()
