"""Streams of ChatCompletionChunk, shaped like openai-python's Stream and
AsyncStream: iterators and context managers. The generation runs on a thread
of its own (a native Call); leaving the loop early (break, an exception),
closing the stream or cancelling the task that iterates it cancels the
generation through its std::stop_source.

AsyncStream and the async calls wait on the Call's eventfd with
loop.add_reader: the engine thread's own completion wakes the event loop (no
polling), and the engine thread never takes the GIL."""

from __future__ import annotations

import asyncio
import collections
import time
from typing import TYPE_CHECKING, Any, AsyncIterator, Deque, Iterator, Optional

from . import _cnai
from ._types import ChatCompletion, ChatCompletionChunk, CompletionUsage

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Stream", "AsyncStream"]


def _usage_chunk(response: _cnai.ChatResponse, created: int) -> ChatCompletionChunk:
    return ChatCompletionChunk(response.id, [], created, response.model, usage=CompletionUsage._from_native(response.usage))


class Stream:
    """`for chunk in stream:` yields ChatCompletionChunk; after the last one,
    `stream.completion` is the whole ChatCompletion (usage, timings, backend)."""

    def __init__(self, call: _cnai.Call, include_usage: bool = False) -> None:
        self._call = call
        self._include_usage = include_usage
        self._created = int(time.time())
        self._iterator = self.__stream__()
        self.completion: Optional[ChatCompletion] = None

    def __stream__(self) -> Iterator[ChatCompletionChunk]:
        call, created = self._call, self._created
        try:
            while True:
                native = call.next()
                if native is None:
                    break
                yield ChatCompletionChunk._from_native(native, created)
            response = call.response()  # raises the generation's error
            self.completion = ChatCompletion._from_native(response)
            if self._include_usage:
                yield _usage_chunk(response, created)
        finally:
            if not call.finished:
                call.cancel()

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        # A generator of its own, so that breaking out of a for loop finalizes
        # it at once (CPython) and the finally below cancels the generation.
        try:
            for chunk in self._iterator:
                yield chunk
        finally:
            if not self._call.finished:
                self.close()

    def __next__(self) -> ChatCompletionChunk:
        return next(self._iterator)

    def close(self) -> None:
        """Cancel the generation (if it still runs)."""
        self._call.cancel()
        self._iterator.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional["TracebackType"]) -> None:
        self.close()


# Cancelled calls whose threads have not ended yet: kept (and watched) until
# they end, so that dropping one never makes the event loop wait for a join.
_draining: "set[_CallWaiter]" = set()


class _CallWaiter:
    """The asyncio side of a native Call: the loop watches its eventfd and
    hands its chunks to the awaiting coroutine."""

    def __init__(self, call: _cnai.Call, loop: asyncio.AbstractEventLoop) -> None:
        self._call = call
        self._loop = loop
        self._fd = call.fileno()
        self._queue: Deque[Any] = collections.deque()
        self._done = False
        self._waiter: Optional[asyncio.Future[None]] = None
        self._watching = True
        loop.add_reader(self._fd, self._on_ready)  # fires at once if the call already signalled

    def _on_ready(self) -> None:
        chunks, finished = self._call.drain()
        self._queue.extend(chunks)
        if finished:
            self._done = True
            self._unwatch()
            _draining.discard(self)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _unwatch(self) -> None:
        if self._watching:
            self._watching = False
            if not self._loop.is_closed():
                self._loop.remove_reader(self._fd)

    async def next(self) -> Any:
        """The next native chunk, or None once the call has ended."""
        while not self._queue and not self._done:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._queue.popleft() if self._queue else None

    async def wait(self) -> None:
        while await self.next() is not None:
            pass

    def close(self) -> None:
        if not self._done:
            self._call.cancel()
            if self._watching and not self._loop.is_closed():
                _draining.add(self)  # until _on_ready sees the end
                return
        self._unwatch()


async def _await_call(call: _cnai.Call) -> None:
    """Wait for a non-streaming Call; cancelling the awaiting task cancels it."""
    waiter = _CallWaiter(call, asyncio.get_running_loop())
    try:
        await waiter.wait()
    finally:
        waiter.close()


class AsyncStream:
    """`async for chunk in stream:` yields ChatCompletionChunk; after the last
    one, `stream.completion` is the whole ChatCompletion."""

    def __init__(self, call: _cnai.Call, include_usage: bool = False) -> None:
        self._call = call
        self._include_usage = include_usage
        self._created = int(time.time())
        self._waiter: Optional[_CallWaiter] = None
        self._iterator = self.__stream__()
        self.completion: Optional[ChatCompletion] = None

    async def __stream__(self) -> AsyncIterator[ChatCompletionChunk]:
        self._waiter = waiter = _CallWaiter(self._call, asyncio.get_running_loop())
        created = self._created
        try:
            while True:
                native = await waiter.next()
                if native is None:
                    break
                yield ChatCompletionChunk._from_native(native, created)
            response = self._call.response()
            self.completion = ChatCompletion._from_native(response)
            if self._include_usage:
                yield _usage_chunk(response, created)
        finally:
            waiter.close()  # cancels the generation unless it finished

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        # A generator of its own: after a break, asyncio finalizes it (aclose)
        # on the loop's next turn and the finally below cancels the generation.
        return self._guarded()

    async def _guarded(self) -> AsyncIterator[ChatCompletionChunk]:
        try:
            async for chunk in self._iterator:
                yield chunk
        finally:
            if not self._call.finished:
                self._call.cancel()
                if self._waiter is not None:
                    self._waiter.close()

    async def __anext__(self) -> ChatCompletionChunk:
        return await self._iterator.__anext__()

    async def close(self) -> None:
        """Cancel the generation (if it still runs)."""
        self._call.cancel()
        await self._iterator.aclose()

    async def __aenter__(self) -> "AsyncStream":
        return self

    async def __aexit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                        tb: Optional["TracebackType"]) -> None:
        await self.close()
