"""Crashes mid-batch on the default model: a `cnai worker` frozen (SIGSTOP)
while it holds an unfinished Redis Streams entry, then killed (SIGKILL), and a `cnai serve` (SQLite
queue, in-process worker) killed and restarted. Each time the batch still
completes with exactly one result line per input line, and lines finished
before the crash are not redone (their stored results are unchanged)."""
import json
import os
import signal
import sqlite3
import time

from openai import OpenAI

from conftest import wait_until


def batch_lines(n, tokens=24):
    return "".join(json.dumps({"custom_id": f"req-{i}", "method": "POST", "url": "/v1/responses",
                               "body": {"input": f"Write a sentence about the number {i}.",
                                        "max_output_tokens": tokens}}) + "\n" for i in range(1, n + 1))


def start_batch(client, n):
    f = client.files.create(file=("in.jsonl", batch_lines(n).encode()), purpose="batch")
    return client.batches.create(input_file_id=f.id, endpoint="/v1/responses", completion_window="24h")


def finished(client, batch_id, timeout=240):
    return wait_until(lambda: (b := client.batches.retrieve(batch_id)).status in
                      ("completed", "failed", "expired", "cancelled") and b, timeout, 0.2, "the batch to finish")


def output_lines(client, batch):
    lines = []
    for fid in (batch.output_file_id, batch.error_file_id):
        if fid:
            lines += [json.loads(x) for x in client.files.content(fid).text.splitlines()]
    return lines


def pending_of(redis, consumer):
    """The entry ids `consumer` holds unacknowledged (XPENDING's extended form)."""
    out = redis.cli("XPENDING", "cnai:stream", "cnai:workers", "-", "+", "100", consumer).split("\n")
    return [out[i] for i in range(0, len(out) - 3, 4) if out[i]]  # id, consumer, idle ms, deliveries


def test_killed_redis_worker_loses_nothing_and_duplicates_nothing(cnai, redis):
    queue = ["--queue", redis.url, "--lease-ms", "1500"]
    server = cnai.serve(*queue, "--workers", "0")
    w1 = cnai.worker(*queue, name="w1")
    cnai.worker(*queue, name="w2")
    client = OpenAI(base_url=server.base_url + "/v1", api_key="x", max_retries=0, timeout=60)
    n = 24
    batch = start_batch(client, n)
    results_key = f"cnai:results:{batch.id}"

    def results():
        return dict(zip(*[iter(x for x in redis.cli("HGETALL", results_key).split("\n") if x)] * 2))

    wait_until(lambda: len(results()) >= 4, 120, 0.05, "4 results")
    # Freeze w1 (SIGSTOP) and look: once a frozen w1 holds an entry whose
    # result is not written, that entry is certainly unfinished (a result and
    # its XACK are one Lua script), and w1 will never finish it (SIGKILL next).
    def w1_frozen_holding_an_entry():
        os.kill(w1.p.pid, signal.SIGSTOP)
        time.sleep(0.3)  # anything w1 had already sent reaches Redis first
        for entry_id in pending_of(redis, "w1"):
            fields = redis.cli("XRANGE", "cnai:stream", entry_id, entry_id).split("\n")
            if "custom_id" in fields:
                custom_id = fields[fields.index("custom_id") + 1]
                if custom_id not in results():
                    return entry_id, custom_id
        os.kill(w1.p.pid, signal.SIGCONT)
        time.sleep(0.05)
        return None

    entry_id, custom_id = wait_until(w1_frozen_holding_an_entry, 180, 0, "w1 to hold an unfinished entry")
    before = results()
    w1.kill9()

    done = finished(client, batch.id)
    assert done.status == "completed"
    assert done.request_counts.completed == n and done.request_counts.failed == 0
    lines = output_lines(client, done)
    ids = [x["custom_id"] for x in lines]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(1, n + 1))  # one line each, none lost, none twice
    # w1's entry was reclaimed and answered by w2: its result exists now, and w1 is dead.
    assert ids.count(custom_id) == 1 and custom_id in results()
    assert entry_id not in pending_of(redis, "w1")
    by_id = {x["custom_id"]: json.dumps(x, separators=(",", ":")) for x in lines}
    for cid, stored in before.items():  # "line\tO\tjson": finished before the kill, not redone
        assert json.loads(stored.split("\t", 2)[2]) == json.loads(by_id[cid])
    assert redis.cli("XLEN", "cnai:stream") == "0"
    assert redis.cli("XPENDING", "cnai:stream", "cnai:workers").split("\n")[0] == "0"


def test_server_restarted_mid_batch_loses_nothing(cnai, tmpdir_path):
    db = os.path.join(tmpdir_path, "jobs.db")
    args = ["--queue", db, "--lease-ms", "1500", "--workers", "1"]
    server = cnai.serve(*args)
    client = OpenAI(base_url=server.base_url + "/v1", api_key="x", max_retries=0, timeout=60)
    n = 16
    batch = start_batch(client, n)

    def stored():
        with sqlite3.connect(db, timeout=10) as c:
            return dict(c.execute("SELECT custom_id, json FROM results WHERE job_id = ?", (batch.id,)).fetchall())

    wait_until(lambda: len(stored()) >= 4, 120, 0.02, "4 results")
    server.kill9()
    before = stored()
    assert 4 <= len(before) < n

    server = cnai.serve(*args)  # same file, a new process (and port)
    client = OpenAI(base_url=server.base_url + "/v1", api_key="x", max_retries=0, timeout=60)
    done = finished(client, batch.id)
    assert done.status == "completed"
    assert done.request_counts.completed == n
    lines = output_lines(client, done)
    assert [x["custom_id"] for x in lines] == [f"req-{i}" for i in range(1, n + 1)]
    by_id = {x["custom_id"]: x for x in lines}
    for custom_id, text in before.items():
        assert json.loads(text) == by_id[custom_id]
