"""Leaving a stream early cancels its generation: a break, closing it, and in
asyncio a break or cancelling the task. The proof is the native call's own
end: RequestCancelledError instead of a finished completion."""
import asyncio
import time

import pytest

import cnai

LONG = [{"role": "user", "content": "Write a long story about a dragon."}]


def wait_finished(call, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not call.finished and time.monotonic() < deadline:
        time.sleep(0.005)
    assert call.finished, "the generation did not stop"


def test_break_cancels(client):
    stream = client.chat.completions.create(messages=LONG, max_tokens=400, stream=True)
    for n, _ in enumerate(stream):
        if n == 2:
            break
    call = stream._call
    assert call.cancelled
    wait_finished(call)
    with pytest.raises(cnai.RequestCancelledError) as info:
        call.response()
    assert info.value.code == "cancelled"
    # The engine is free again: a new request is answered.
    r = client.chat.completions.create(messages=LONG, max_tokens=4, temperature=0)
    assert r.usage.completion_tokens == 4


def test_close_cancels(client):
    stream = client.chat.completions.create(messages=LONG, max_tokens=400, stream=True)
    next(stream)
    stream.close()
    wait_finished(stream._call)
    with pytest.raises(cnai.RequestCancelledError):
        stream._call.response()


def test_async_break_cancels(engine):
    async def main():
        client = cnai.AsyncClient(backend=engine)
        stream = await client.chat.completions.create(messages=LONG, max_tokens=400, stream=True)
        n = 0
        async for _ in stream:
            n += 1
            if n == 3:
                break
        await asyncio.sleep(0)  # the loop finalizes the abandoned iterator on its next turn
        await asyncio.sleep(0)
        return stream._call

    call = asyncio.run(main())
    assert call.cancelled
    wait_finished(call)
    with pytest.raises(cnai.RequestCancelledError):
        call.response()


def test_async_task_cancel_cancels(engine):
    calls = []

    async def consume(client):
        stream = await client.chat.completions.create(messages=LONG, max_tokens=400, stream=True)
        calls.append(stream._call)
        async for _ in stream:
            pass

    async def main():
        client = cnai.AsyncClient(backend=engine)
        task = asyncio.create_task(consume(client))
        while not calls:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    wait_finished(calls[0])
    with pytest.raises(cnai.RequestCancelledError):
        calls[0].response()


def test_cancelling_a_non_streaming_async_call(engine):
    async def main():
        client = cnai.AsyncClient(backend=engine)
        task = asyncio.create_task(client.chat.completions.create(messages=LONG, max_tokens=400))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the engine is free for the next request
        r = await client.chat.completions.create(messages=LONG, max_tokens=3, temperature=0)
        return r

    r = asyncio.run(main())
    assert r.usage.completion_tokens == 3



def test_ctrl_c_cancels_a_blocking_call(client, engine):
    """Ctrl-C (SIGINT, delivered to the main thread) interrupts a non-streaming
    completion: KeyboardInterrupt at once, the generation cancelled."""
    import os
    import signal
    import threading

    before = engine.stats()["tokens_generated"]
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        # ~2000 tokens would take many seconds here
        client.chat.completions.create(messages=LONG, max_tokens=2000, temperature=0.8, seed=1)
    waited = time.monotonic() - start
    timer.join()
    assert waited < 2.0, f"KeyboardInterrupt came {waited:.2f}s after the call began"
    # The engine stopped generating for it: nothing more is produced once it settles.
    time.sleep(0.3)
    settled = engine.stats()["tokens_generated"]
    time.sleep(0.5)
    assert engine.stats()["tokens_generated"] == settled
    assert engine.stats()["running"] == 0
    assert settled - before < 2000
    # and the engine answers the next call
    r = client.chat.completions.create(messages=LONG, max_tokens=3, temperature=0)
    assert r.usage.completion_tokens == 3
