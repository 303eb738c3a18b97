"""Many Python threads and tasks share one engine: the GIL is released while
the engine computes, requests are in flight together (and, once the engine
batches, served together), and every answer is the one a lone request gets."""
import threading
import time

import cnai

QUESTIONS = ["What is the capital of France?", "What is the capital of Italy?",
             "What is the capital of Spain?", "What is the capital of Germany?"]


def ask(client, question, max_tokens=24):
    return client.chat.completions.create(
        messages=[{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": question}],
        temperature=0, max_tokens=max_tokens)


def test_gil_is_released_while_the_engine_computes(client):
    ticks = 0
    stop = threading.Event()

    def count():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    ask(client, QUESTIONS[0], 4)  # warm
    t = threading.Thread(target=count)
    t.start()
    try:
        time.sleep(0.01)
        before = ticks
        start = time.perf_counter()
        r = ask(client, QUESTIONS[0], 48)
        elapsed = time.perf_counter() - start
        during = ticks - before
    finally:
        stop.set()
        t.join()
    assert r.usage.completion_tokens > 0
    # A pure-Python loop holding the GIL alone runs millions of times a second;
    # had the call kept the GIL, it would have counted ~nothing meanwhile.
    assert during > 10_000 * elapsed, (during, elapsed)


def test_threads_share_one_engine(client):
    alone = {q: ask(client, q).choices[0].message.content for q in QUESTIONS}
    results, spans, errors = {}, {}, []

    def worker(q):
        try:
            t0 = time.perf_counter()
            results[q] = ask(client, q).choices[0].message.content
            spans[q] = (t0, time.perf_counter())
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(q,)) for q in QUESTIONS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == alone  # greedy: sharing the engine changes no answer
    # Requests were in flight together: some request finished while another was running.
    ends = sorted(spans.values(), key=lambda s: s[1])
    first_end = ends[0][1]
    assert any(s[0] < first_end < s[1] for s in spans.values() if s != ends[0])


def test_streams_of_two_engines_interleave(model_path):
    # Two engines on their own threads generate at the same time: the chunks of
    # both streams arrive interleaved, not one stream after the other.
    engines = [cnai.Client(model=model_path, threads=1) for _ in range(2)]
    arrivals = []
    lock = threading.Lock()

    def consume(i):
        long_answer = [{"role": "user", "content": "Tell me about Paris in five sentences."}]
        for chunk in engines[i].chat.completions.create(messages=long_answer, temperature=0, max_tokens=48,
                                                        stream=True):
            with lock:
                arrivals.append(i)

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The stream that finished first did not run alone: the other one's chunks
    # came before its last one.
    first_done = arrivals[-1] ^ 1
    last_of_first = max(i for i, who in enumerate(arrivals) if who == first_done)
    assert any(who != first_done for who in arrivals[:last_of_first]), arrivals
