"""The limiter protocol, and the in-memory limiters: ``RateLimiter`` and ``TokenBudget``.

A limiter is any object with ``async acquire(cost=1.0)`` (wait for room for ``cost`` units and
take it) and ``async penalize(seconds)`` (the server throttled us: every holder of this limiter
backs off). ``Limiter`` is that protocol; a ``TokenLimiter`` also has ``async settle(reserved,
used)``, which gives back (or charges) the difference once the real token usage is known.

Both in-memory limiters run GCRA, the generic cell rate algorithm, which keeps a single number:
the theoretical arrival time (TAT), the moment the limiter would be empty again had every taken
unit been spent at the steady rate. ``gcra()`` below is that core, with no I/O: the Redis limiters
(``aclarifai.redis``) run the same arithmetic in one Lua script, on the Redis server's clock.

A caller takes its slot at once, even when that books it in the future, and then sleeps until its
slot comes. Taking before sleeping serves callers in arrival order and needs no lock: nothing
awaits between reading the TAT and writing it. A request limiter's caller that wakes up more than
``late_tolerance()`` after its slot (a busy event loop, a descheduled process) has lost the slot
and takes a new one: otherwise callers delayed together would start together, above the rate.
A caller whose wait would exceed ``max_wait`` takes nothing and gets ``LimiterWaitError`` (a
``RateLimitError``). A caller cancelled while it sleeps does not give its slot back: later
callers already counted on it.

The clock and the sleep are injectable so tests run on a fake clock, without real waiting.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from .errors import LimiterWaitError

__all__ = [
    "CLARIFAI_DEFAULT_RATE",
    "Limiter",
    "RateLimiter",
    "TokenBudget",
    "TokenLimiter",
    "check_max_wait",
    "check_rate",
    "gcra",
    "late_tolerance",
    "slept_on_time",
    "penalized_tat",
    "wait_error",
]

CLARIFAI_DEFAULT_RATE = 15.0
"""Clarifai's default account limit, in requests per second (throttled above: code 11005)."""


@runtime_checkable
class Limiter(Protocol):
    """What ``AsyncClarifai(limiter=...)`` accepts: anything with these two coroutines.

    ``acquire(cost)`` returns when ``cost`` units may be spent (one request start is 1.0) and
    has taken them; ``penalize(seconds)`` makes every holder of the limiter wait ``seconds``
    before its next start (the client calls it on a 429's ``Retry-After`` and on Clarifai's
    throttle codes 11005/11006).
    """

    async def acquire(self, cost: float = 1.0) -> None: ...

    async def penalize(self, seconds: float) -> None: ...


@runtime_checkable
class TokenLimiter(Limiter, Protocol):
    """A limiter counted in tokens: ``acquire(estimate)`` first, ``settle()`` when usage is known."""

    async def settle(self, reserved: float, used: float) -> None:
        """Give back ``reserved - used`` tokens (or take the excess when ``used`` is larger)."""
        ...


def gcra(tat: float, now: float, cost: float, interval: float, capacity: float) -> tuple[float, float]:
    """Take ``cost`` units at ``now``: return ``(new_tat, wait)``.

    ``interval`` is the seconds one unit takes at the steady rate, ``capacity`` the units that may
    go back to back after an idle period (the burst). A cost above ``capacity`` is charged as
    ``capacity``: it could never fit otherwise. The caller may start after ``wait`` seconds.
    """
    cost = min(cost, capacity)
    new_tat = max(tat, now) + cost * interval
    start = new_tat - capacity * interval
    return new_tat, max(0.0, start - now)


def penalized_tat(tat: float, now: float, seconds: float, interval: float, capacity: float) -> float:
    """The TAT after ``penalize(seconds)``: nothing starts before ``now + seconds``, and the burst
    allowance is spent, so starts resume at the steady rate (one unit at ``now + seconds``)."""
    return max(tat, now + seconds + (capacity - 1.0) * interval)


MIN_LATE = 0.01
"""Seconds late a caller may wake and still use its slot, at least (sleeps overshoot a little)."""


def late_tolerance(interval: float) -> float:
    """How late after its slot a request may still start: half an interval, at least 10 ms."""
    return max(interval / 2, MIN_LATE)


async def slept_on_time(
    sleep: Callable[[float], Awaitable[object]], delay: float, late: float | None
) -> bool:
    """Sleep ``delay``; whether the caller woke in time for its slot (always, if ``late`` is None)."""
    due = time.monotonic() + delay
    await sleep(delay)
    return late is None or time.monotonic() - due <= late


def check_rate(name: str, value: float) -> float:
    """``value`` as a positive, finite float, or ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    if math.isinf(value):
        raise ValueError(f"{name} must be finite; pass no limiter for no limit")
    return float(value)


def check_max_wait(max_wait: float | None) -> float | None:
    if max_wait is None:
        return None
    if isinstance(max_wait, bool) or not isinstance(max_wait, (int, float)) or not max_wait >= 0:
        raise ValueError(f"max_wait must be None or a number of seconds >= 0, not {max_wait!r}")
    return float(max_wait)


def wait_error(wait: float, max_wait: float, what: str) -> LimiterWaitError:
    """The error for a wait longer than ``max_wait`` (nothing was taken)."""
    return LimiterWaitError(
        f"{what}: the next slot is {wait:.2f}s away, more than max_wait={max_wait:g}s; "
        "nothing was taken",
        status_code=429,
    )


class _Gcra:
    """GCRA in memory: the TAT, a clock that never steps back, and the sleep."""

    __slots__ = ("_capacity", "_clock", "_interval", "_last", "_late", "_max_wait", "_sleep",
                 "_tat")

    def __init__(
        self,
        interval: float,
        capacity: float,
        max_wait: float | None,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[object]],
        late: float | None = None,
    ) -> None:
        self._interval = interval
        # Only with the real clock: a fake one (tests) says nothing about how late a sleep was.
        self._late = late if clock is time.monotonic else None
        self._capacity = capacity
        self._max_wait = check_max_wait(max_wait)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._tat = self._last  # a fresh limiter lets the first burst through at once

    def _now(self) -> float:
        now = self._clock()
        if now < self._last:  # a clock that steps back must not mint room
            return self._last
        self._last = now
        return now

    def reserve(self, cost: float = 1.0) -> float:
        """Take ``cost`` units now; return the seconds to wait before using them (0 when free).

        Raises ``LimiterWaitError`` (taking nothing) when that wait would exceed ``max_wait``.
        """
        now = self._now()
        new_tat, wait = gcra(self._tat, now, float(cost), self._interval, self._capacity)
        if self._max_wait is not None and wait > self._max_wait:
            raise wait_error(wait, self._max_wait, repr(self))
        self._tat = new_tat
        return wait

    async def acquire(self, cost: float = 1.0) -> None:
        """Wait for room for ``cost`` units (returns at once when there is some) and take it."""
        while True:
            delay = self.reserve(cost)
            if delay <= 0.0 or await slept_on_time(self._sleep, delay, self._late):
                return

    async def penalize(self, seconds: float) -> None:
        """Nothing starts for ``seconds``; then starts resume at the steady rate."""
        if seconds > 0:
            self._tat = penalized_tat(
                self._tat, self._now(), seconds, self._interval, self._capacity
            )

    def _adjust(self, units: float) -> None:
        """Move the TAT by ``units`` (negative: give back), never before now."""
        self._tat = max(self._now(), self._tat + units * self._interval)


class RateLimiter(_Gcra):
    """At most ``rate`` request starts per second, for every task that shares it.

    >>> limiter = RateLimiter(15)                   # Clarifai's default account limit
    >>> client = AsyncClarifai(limiter=limiter)     # every attempt, retries included, waits on it

    ``burst`` starts may go back to back after an idle period; with the default ``burst=1`` this
    is plain spacing, one start every ``1 / rate`` seconds. With ``max_wait`` set, a caller whose
    turn is further away gets ``LimiterWaitError`` (a ``RateLimitError``) and takes no slot. A
    caller that wakes up late for its slot takes a new one (see the module docs).
    """

    __slots__ = ("_burst", "_rate")

    def __init__(
        self,
        rate: float = CLARIFAI_DEFAULT_RATE,
        *,
        burst: int = 1,
        max_wait: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        rate = check_rate("rate", rate)
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an int >= 1, not {burst!r}")
        self._rate = rate
        self._burst = burst
        super().__init__(1.0 / rate, float(burst), max_wait, clock, sleep,
                         late_tolerance(1.0 / rate))

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


class TokenBudget(_Gcra):
    """At most ``tokens_per_minute`` tokens a minute, reserved before each request, settled after.

    >>> client = AsyncClarifai(token_budget=TokenBudget(100_000))

    The client reserves an estimate before each attempt (see ``estimate_tokens``) and settles it
    with the response's real ``usage``, giving back what was not used. A whole minute's budget may
    be spent at once after an idle minute; a single reservation above the budget is charged as the
    whole budget.
    """

    __slots__ = ("_tokens_per_minute",)

    def __init__(
        self,
        tokens_per_minute: float,
        *,
        max_wait: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        tpm = check_rate("tokens_per_minute", tokens_per_minute)
        self._tokens_per_minute = tpm
        super().__init__(60.0 / tpm, tpm, max_wait, clock, sleep)

    @property
    def tokens_per_minute(self) -> float:
        return self._tokens_per_minute

    def __repr__(self) -> str:
        return f"TokenBudget(tokens_per_minute={self._tokens_per_minute:g})"

    async def settle(self, reserved: float, used: float) -> None:
        """Give back ``reserved - used`` tokens (or take the excess when ``used`` is larger)."""
        if used != reserved:
            self._adjust(used - reserved)

    def available(self) -> float:
        """Tokens that could be taken right now without waiting."""
        return max(0.0, self._capacity - (self._tat - self._now()) / self._interval)
