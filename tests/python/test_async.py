"""cnai.AsyncClient: the same answers as the sync client, streams with
`async for`, many tasks at once on one engine, and an event loop that keeps
running while the engine computes."""
import asyncio
import time

import openai.types

import cnai
from conftest import FRANCE


def test_async_answers_as_sync(engine, client):
    sync = client.chat.completions.create(messages=FRANCE, temperature=0, max_tokens=24)

    async def main():
        a = cnai.AsyncClient(backend=engine)
        whole = await a.chat.completions.create(messages=FRANCE, temperature=0, max_tokens=24)
        stream = await a.chat.completions.create(messages=FRANCE, temperature=0, max_tokens=24, stream=True)
        assert isinstance(stream, cnai.AsyncStream)
        text = ""
        async for chunk in stream:
            text += chunk.choices[0].delta.content or ""
        models = await a.models.list()
        return whole, text, stream.completion, models

    whole, text, completion, models = asyncio.run(main())
    assert whole.choices[0].message.content == sync.choices[0].message.content
    assert text == sync.choices[0].message.content
    assert completion.usage.completion_tokens == sync.usage.completion_tokens
    assert [m.id for m in models] == [engine.model_name]


def test_event_loop_runs_while_the_engine_computes(engine):
    async def main():
        a = cnai.AsyncClient(backend=engine)
        ticks = 0
        done = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.002)

        t = asyncio.create_task(ticker())
        start = time.perf_counter()
        r = await a.chat.completions.create(messages=FRANCE, temperature=0, max_tokens=48)
        elapsed = time.perf_counter() - start
        done.set()
        await t
        return r, ticks, elapsed

    r, ticks, elapsed = asyncio.run(main())
    assert r.usage.completion_tokens > 0
    # A blocked loop would tick once; a free one every ~2 ms (generous margin for a loaded machine).
    assert ticks >= max(3, elapsed / 0.002 / 10), (ticks, elapsed)


def test_many_tasks_share_one_engine(engine, client):
    questions = [f"What is {a} plus {b}?" for a, b in ((1, 2), (2, 3), (3, 4))]
    alone = [client.chat.completions.create(messages=[{"role": "user", "content": q}], temperature=0,
                                            max_tokens=16).choices[0].message.content for q in questions]

    async def main():
        a = cnai.AsyncClient(backend=engine)
        rs = await asyncio.gather(*(a.chat.completions.create(messages=[{"role": "user", "content": q}],
                                                              temperature=0, max_tokens=16) for q in questions))
        return [r.choices[0].message.content for r in rs]

    assert asyncio.run(main()) == alone


def test_async_embeddings(embedding_model_path):
    async def main():
        a = cnai.AsyncClient(model=embedding_model_path, threads=1)
        return await a.embeddings.create(input=["one", "two"], as_numpy=True)

    r = asyncio.run(main())
    assert r.numpy().shape == (2, 384)
    openai.types.CreateEmbeddingResponse.model_validate(r.model_dump())
