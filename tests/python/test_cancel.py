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

