"""A bounded, cancellable concurrent map over an iterable or async iterable: the engine of
``abatch_stream()`` and of the ``batch`` command.

``pump(source, job, concurrency=C, window=W, ordered=...)`` runs ``job(index, item)`` for each
item of ``source`` with ``C`` worker tasks (so C jobs at most in flight, and C tasks in all however
long the input is) and yields ``(index, outcome)`` pairs as jobs finish, or in input order.

Memory is bounded by the window, not the input: a worker takes a *room* before it pulls the next
item and the room is given back only when that item's outcome is handed to the consumer. So at
most ``W`` items are pulled and not yet consumed (in flight, waiting for a worker, or finished and
waiting for the consumer, or, in ordered mode, for an earlier item). A slow consumer therefore
slows the input down instead of piling up results.

Errors: ``job`` returns its outcome, errors included, for anything it wants to report; whatever
it (or the source) raises ends the pump: the consumer gets that exception, and the other workers
are cancelled. Closing the generator (``aclose()``, a ``break`` then garbage collection, or the
consumer's task being cancelled while it waits for the next outcome) cancels every worker and
awaits it before returning: no task outlives the pump.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar

__all__ = ["Source", "pump"]

T = TypeVar("T")
R = TypeVar("R")
Source = Iterable[T] | AsyncIterable[T]


class _Puller(Generic[T]):
    """Hands out ``(index, item)`` from a sync or async iterable to several workers."""

    __slots__ = ("_async", "_done", "_iterator", "_lock", "_next")

    def __init__(self, source: Source[T]) -> None:
        self._next = 0
        self._done = False
        self._iterator: Any
        if isinstance(source, AsyncIterable):
            self._iterator = source.__aiter__()
            self._async = True
            self._lock = asyncio.Lock()  # an async generator cannot be advanced twice at once
        elif isinstance(source, Iterable):
            self._iterator = iter(source)
            self._async = False
        else:
            raise TypeError(f"inputs must be an iterable or an async iterable, not {type(source).__name__}")

    async def pull(self) -> tuple[int, T] | None:
        """The next item and its index, or None when the source is exhausted."""
        if self._done:
            return None
        if not self._async:
            try:
                item = next(self._iterator)
            except StopIteration:
                self._done = True
                return None
        else:
            async with self._lock:
                if self._done:
                    return None
                try:
                    item = await self._iterator.__anext__()
                except StopAsyncIteration:
                    self._done = True
                    return None
        index = self._next
        self._next += 1
        return index, item


class _Pump(Generic[T, R]):
    """The shared state of one pump: workers deliver outcomes, the consumer takes them."""

    def __init__(
        self,
        source: Source[T],
        job: Callable[[int, T], Awaitable[R]],
        window: int,
        ordered: bool,
        pause_after: Callable[[R], bool] | None,
    ) -> None:
        self._puller = _Puller(source)
        self._job = job
        self._pause_after = pause_after
        self.room = asyncio.Semaphore(window)
        self._ordered = ordered
        self.ready: deque[tuple[int, R]] = deque()
        self._early: dict[int, R] = {}  # ordered mode: finished before an earlier item
        self._next_out = 0
        self.waiter: asyncio.Future[None] | None = None
        self.failure: BaseException | None = None
        self.running = 0

    async def work(self) -> None:
        room, puller, job = self.room, self._puller, self._job
        while True:
            await room.acquire()
            pulled = await puller.pull()
            if pulled is None:
                room.release()
                return
            index, item = pulled
            outcome = await job(index, item)
            self._deliver(index, outcome)
            if self._pause_after is not None and self._pause_after(outcome):
                # Let the consumer see this one first: if it stops here, nothing new starts.
                await asyncio.sleep(0)

    def _deliver(self, index: int, outcome: R) -> None:
        if not self._ordered:
            self.ready.append((index, outcome))
        elif index != self._next_out:
            self._early[index] = outcome
            return
        else:
            self.ready.append((index, outcome))
            index += 1
            early = self._early
            while index in early:
                self.ready.append((index, early.pop(index)))
                index += 1
            self._next_out = index
        self._wake()

    def worker_done(self, task: asyncio.Task[None]) -> None:
        self.running -= 1
        if not task.cancelled() and task.exception() is not None and self.failure is None:
            self.failure = task.exception()
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


async def pump(
    source: Source[T],
    job: Callable[[int, T], Awaitable[R]],
    *,
    concurrency: int,
    window: int,
    ordered: bool = False,
    pause_after: Callable[[R], bool] | None = None,
) -> AsyncGenerator[tuple[int, R], None]:
    """Yield ``(index, await job(index, item))`` for each item of ``source``.

    ``concurrency`` workers run the jobs; at most ``window`` (>= ``concurrency``) items are held
    at once. With ``ordered=True`` the outcomes come in input order, otherwise as they finish.
    After an outcome for which ``pause_after(outcome)`` is true (say, a failure), its worker lets
    the consumer run before it pulls another item. Nothing starts before the first ``__anext__``.
    """
    state: _Pump[T, R] = _Pump(source, job, max(window, concurrency), ordered, pause_after)
    ready, room = state.ready, state.room
    loop = asyncio.get_running_loop()
    tasks = [asyncio.ensure_future(state.work()) for _ in range(concurrency)]
    state.running = len(tasks)
    try:
        for task in tasks:
            task.add_done_callback(state.worker_done)
        while True:
            while ready:
                pair = ready.popleft()
                room.release()
                yield pair
            if state.failure is not None:
                raise state.failure
            if state.running == 0:
                return
            state.waiter = waiter = loop.create_future()
            await waiter
            state.waiter = None
    finally:
        for task in tasks:
            task.cancel()
        # Also retrieves every worker's exception, so none is logged as "never retrieved".
        await asyncio.gather(*tasks, return_exceptions=True)
