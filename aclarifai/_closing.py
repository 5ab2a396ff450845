"""Ending what a client has in flight when it closes (``AsyncClarifai.aclose()``).

aiohttp alone does not: closing a session closes its sockets, but a read waiting on a response
body is never woken (the connection forgets the body before it learns the socket is gone), and
nothing wakes a retry's sleep or a limiter's wait. So the client keeps two lists:

- the open **responses** (weakly: an abandoned stream still frees its connection in
  ``__del__``). On close, each body is given the closed error, so a read in progress, or the next
  one, raises it at once; this costs nothing per chunk.
- the **tasks waiting** in one of the client's own awaits that no response can wake (connecting,
  waiting for the answer's headers, reading a non-stream body, a retry's sleep, a limiter's or a
  token budget's wait). On close, each is cancelled, and the cancellation is turned back into the
  closed error where it lands, inside that await, never in the caller's own code. A cancellation
  that someone else requested as well stays a cancellation.

Either way the caller gets one error, ``ClientClosedError`` (an ``APIConnectionError``, never
retried), and so does every call made after ``aclose()``.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable
from typing import TypeVar

import aiohttp

from .errors import ClientClosedError

__all__ = ["InFlight"]

T = TypeVar("T")


class InFlight:
    """What one client has in flight, and how to end all of it at once."""

    __slots__ = ("_cancelled", "_responses", "_waiting", "closed")

    def __init__(self) -> None:
        self.closed = False
        self._responses: weakref.WeakSet[aiohttp.ClientResponse] = weakref.WeakSet()
        self._waiting: dict[asyncio.Task[object], int] = {}  # task -> awaits it is inside
        self._cancelled: set[asyncio.Task[object]] = set()

    @staticmethod
    def error() -> ClientClosedError:
        return ClientClosedError("the client was closed")

    def track(self, response: aiohttp.ClientResponse) -> None:
        """Watch an open response (a stream's): on close its body raises the closed error."""
        if self.closed:
            response.content.set_exception(self.error())
        else:
            self._responses.add(response)

    async def wait(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable``; if the client closes meanwhile, raise ``ClientClosedError``."""
        if self.closed:
            _discard(awaitable)
            raise self.error()
        task = asyncio.current_task()
        if task is None:  # not in a task (a bare coroutine driven by hand): nothing to cancel
            return await awaitable
        waiting = self._waiting
        waiting[task] = waiting.get(task, 0) + 1
        try:
            result = await awaitable
        except BaseException:
            if self._took_back(task):
                raise self.error() from None
            raise
        finally:
            left = waiting.pop(task) - 1
            if left:
                waiting[task] = left
        if self._took_back(task):  # the awaitable swallowed our cancellation
            raise self.error()
        return result

    def close(self) -> None:
        """End everything in flight (idempotent); the caller then closes the session."""
        if self.closed:
            return
        self.closed = True
        for response in list(self._responses):
            # Also a body that has arrived whole but is not read yet: the stream was not over.
            response.content.set_exception(self.error())
        self._responses.clear()
        current = asyncio.current_task()
        for task in list(self._waiting):
            if task is not current and not task.done():
                # A task waiting here is suspended inside wait(), so the cancellation lands there.
                self._cancelled.add(task)
                task.cancel("the client was closed")

    def _took_back(self, task: asyncio.Task[object]) -> bool:
        """Whether our cancellation hit ``task``, and nobody else's: it then raises the error."""
        if task not in self._cancelled:
            return False
        self._cancelled.discard(task)
        uncancel = getattr(task, "uncancel", None)  # Python >= 3.11 counts cancellations
        return uncancel is None or uncancel() == 0


def _discard(awaitable: Awaitable[object]) -> None:
    close = getattr(awaitable, "close", None)  # a coroutine never awaited: no "never awaited"
    if callable(close):
        close()
