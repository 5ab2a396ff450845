"""RateLimiter: at most ``rate`` request starts per second, shared by every task that uses it.

A token bucket that holds at most ``burst`` tokens and refills at ``rate`` per second. A caller
takes its token at once, even when that drives the bucket below zero, and then sleeps until that
token would have existed. Taking before sleeping serves callers in arrival order and needs no lock:
nothing awaits between reading the bucket and updating it. With the default ``burst=1`` this is
plain spacing: one start every ``1 / rate`` seconds.

The clock and the sleep are injectable so tests run on a fake clock, without real waiting.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

__all__ = ["CLARIFAI_DEFAULT_RATE", "RateLimiter"]

CLARIFAI_DEFAULT_RATE = 15.0
"""Clarifai's default account limit, in requests per second (throttled above: code 11005)."""


class RateLimiter:
    """Space out request starts: ``await limiter.acquire()`` before each one.

    >>> limiter = RateLimiter(15)          # Clarifai's default account limit
    >>> await limiter.acquire()            # returns at once, or when the next slot opens

    A caller cancelled while it waits does not give its slot back: later callers already counted
    on it, and returning it could let two requests start in the same slot.
    """

    __slots__ = ("_burst", "_clock", "_rate", "_sleep", "_tokens", "_updated")

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
        if math.isinf(rate):
            raise ValueError("rate must be finite; pass rate_limit=None for no limit")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an int >= 1, not {burst!r}")
        self._rate = float(rate)
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)  # a fresh limiter lets the first burst through at once
        self._updated = clock()

    @property
    def rate(self) -> float:
        """Request starts allowed per second."""
        return self._rate

    @property
    def burst(self) -> int:
        """How many starts may happen back to back after an idle period."""
        return self._burst

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self._rate:g}, burst={self._burst})"

    def reserve(self) -> float:
        """Take the next slot now; return the seconds to wait before using it (0 when free)."""
        now = self._clock()
        elapsed = max(0.0, now - self._updated)  # a clock that steps back must not mint tokens
        self._tokens = min(float(self._burst), self._tokens + elapsed * self._rate)
        self._updated = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0.0 else -self._tokens / self._rate

    async def acquire(self) -> None:
        """Wait for the next slot (returns at once when one is free)."""
        delay = self.reserve()
        if delay > 0.0:
            await self._sleep(delay)
