"""SIGTERM drains `cnai serve` on the default model: a streamed chat
completion in flight when the signal arrives runs to its end through the
official openai SDK, readiness is gone at once (no new connection is
taken), and the process exits 0 within the drain timeout."""
import signal
import time

from openai import OpenAI

from conftest import http_status, wait_until


def test_sigterm_finishes_the_stream_in_flight_then_exits(cnai):
    server = cnai.serve("--queue", "none", "--drain-timeout-ms", "60000")
    client = OpenAI(base_url=server.base_url + "/v1", api_key="x", max_retries=0, timeout=120)
    model = client.models.list().data[0].id
    stream = client.chat.completions.create(
        model=model, max_tokens=120, temperature=0, stream=True,
        messages=[{"role": "user", "content": "Count from 1 to 100, separated by commas."}])
    chunks = iter(stream)
    first = next(chunks)
    assert first.choices[0].delta.role == "assistant"
    server.p.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    wait_until(lambda: "draining" in server.text(), 10, what="the server to start draining")
    assert http_status(server.base_url + "/readyz", timeout=1) != 200  # not ready while draining
    rest = list(chunks)
    text = "".join(c.choices[0].delta.content or "" for c in [first, *rest] if c.choices)
    assert len(rest) > 5, text  # the stream went on after the signal
    assert rest[-1].choices[0].finish_reason in ("stop", "length")
    assert "1, 2, 3" in text
    assert server.p.wait(timeout=30) == 0
    assert time.monotonic() - t0 < 30
