"""Limiters and cooldowns shared through Redis: ``RedisRateLimiter``, ``RedisTokenBudget``,
``RedisCooldowns`` (public through ``aclarifai.redis``; needs ``pip install 'aclarifai[redis]'``).

Each limiter is one Redis key holding the theoretical arrival time (TAT, in microseconds of the
Redis server's clock) and one Lua script, run atomically by the server, for each operation:
``take`` (``acquire``), ``penalize`` and ``adjust`` (``settle``). The script reads ``TIME`` on
the server, so the workers' clocks never matter, runs ``gcra()`` of ``_ratelimit.py`` (the same
arithmetic, line for line), writes the new TAT with an expiry just past it (an idle limiter
leaves nothing behind: O(1) memory) and returns the wait. One round trip per acquire; callers
are served in the order their scripts ran, whichever process they are in (FIFO-fair). A rate
limiter's caller that wakes up too late for its slot takes a new one (a second round trip, only
then), as the in-memory limiter does.

Keys are ``{prefix}{{{key}}}:rate`` (``:tokens``, ``:cooldown:<model>``): the ``{hash tag}``
puts every key of one ``key`` in one Redis Cluster slot.

``on_unavailable`` says what happens when Redis cannot be reached (connection refused or lost,
timeout, a read-only replica, still loading), after the redis client's own retries:

- ``"wait"`` (the default): wait for Redis to come back, checking every 50 ms to 1 s; with
  ``max_wait`` set, give up after that long with ``LimiterUnavailableError``;
- ``"allow"``: let the request through unlimited (a warning is logged once per outage);
- ``"raise"``: raise ``LimiterUnavailableError`` (an ``APIConnectionError``, not retried).

A throttle penalty or a token settlement that cannot reach Redis is dropped with a warning in
``"wait"`` and ``"allow"`` modes (it would be stale once Redis is back), and raised as
``LimiterUnavailableError`` in ``"raise"`` mode. A key that holds something else (``WRONGTYPE``)
or a script the server refuses raises ``ConfigurationError`` in every mode. No redis exception
ever reaches the caller.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import ReadOnlyError, RedisError, ResponseError

from ._fallback import DEFAULT_COOLDOWN, check_cooldown
from ._ratelimit import (
    CLARIFAI_DEFAULT_RATE,
    check_max_wait,
    check_rate,
    late_tolerance,
    slept_on_time,
    wait_error,
)
from .errors import ConfigurationError, LimiterUnavailableError

__all__ = ["DEFAULT_PREFIX", "OnUnavailable", "RedisCooldowns", "RedisRateLimiter",
           "RedisTokenBudget"]

logger = logging.getLogger("aclarifai")

OnUnavailable = Literal["wait", "allow", "raise"]
DEFAULT_PREFIX = "aclarifai:"
_POLL_FIRST, _POLL_MAX = 0.05, 1.0

# KEYS[1]: the TAT key. ARGV: op, interval (us per unit), capacity (units), amount, max_wait (us,
# -1 for none). take: amount = cost in units; penalize: amount = seconds in us; adjust: amount =
# units to add (negative gives back); peek: nothing. Returns {status, value}: status 1 with the
# wait in us, or -1 with the wait that max_wait refused (nothing written), or 0 with TAT - now.
_SCRIPT = """
local op = ARGV[1]
local interval = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local amount = tonumber(ARGV[4])
local max_wait = tonumber(ARGV[5])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
if op == 'peek' then return {0, tat - now} end
local new_tat = tat
local wait = 0
if op == 'take' then
  new_tat = tat + math.min(amount, capacity) * interval
  wait = math.max(0, new_tat - capacity * interval - now)
  if max_wait >= 0 and wait > max_wait then return {-1, math.floor(wait)} end
elseif op == 'penalize' then
  new_tat = math.max(tat, now + amount + (capacity - 1) * interval)
elseif op == 'adjust' then
  new_tat = math.max(now, tat + amount * interval)
else
  return redis.error_reply('unknown operation ' .. op)
end
local ttl = math.ceil((new_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl)
return {1, math.floor(wait)}
"""


def redis_key(prefix: str, key: str, suffix: str) -> str:
    """``prefix{key}:suffix``; a ``key`` that already has a ``{hash tag}`` keeps it."""
    if not isinstance(key, str) or not key:
        raise ConfigurationError(f"key must be a non-empty string, not {key!r}")
    tagged = key if "{" in key and "}" in key.split("{", 1)[1] else "{" + key + "}"
    return f"{prefix}{tagged}:{suffix}"


def _check_mode(mode: str) -> OnUnavailable:
    if mode not in ("wait", "allow", "raise"):
        raise ConfigurationError(f'on_unavailable must be "wait", "allow" or "raise", not {mode!r}')
    return mode  # type: ignore[return-value]


def _check_client(redis: Any) -> Redis:
    if not callable(getattr(redis, "register_script", None)):
        raise ConfigurationError(
            f"expected a redis.asyncio.Redis client, not {type(redis).__name__} "
            "(redis.asyncio.Redis.from_url('redis://...'))"
        )
    return redis  # type: ignore[no-any-return]


def _unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means Redis cannot be reached now (rather than a misconfiguration)."""
    if isinstance(exc, ResponseError) and not isinstance(exc, ReadOnlyError):
        return False
    return isinstance(exc, (RedisError, OSError, asyncio.TimeoutError))


def _typed(exc: BaseException, what: str) -> Exception:
    if _unavailable(exc):
        return LimiterUnavailableError(f"{what}: Redis is unavailable: {type(exc).__name__}: {exc}")
    return ConfigurationError(f"{what}: Redis refused the operation: {type(exc).__name__}: {exc}")


class _Store:
    """One Redis key, the script, and the ``on_unavailable`` policy around each call."""

    def __init__(self, redis: Any, key: str, on_unavailable: str, what: str,
                 sleep: Callable[[float], Awaitable[object]]) -> None:
        self.redis = _check_client(redis)
        self.key = key
        self.mode = _check_mode(on_unavailable)
        self.what = what
        self._sleep = sleep
        self._script = self.redis.register_script(_SCRIPT)
        self._outage = False

    async def run(self, *args: str | float) -> tuple[int, int]:
        """One script call; raises the typed error (the caller applies the policy)."""
        try:
            status, value = await self._script(keys=[self.key], args=list(args))
        except Exception as exc:
            raise _typed(exc, self.what) from exc
        if self._outage:
            self._outage = False
            logger.warning("%s: Redis is reachable again", self.what)
        return int(status), int(value)

    def note_outage(self, error: LimiterUnavailableError) -> None:
        if not self._outage:
            self._outage = True
            logger.warning("%s (on_unavailable=%r)", error, self.mode)

    async def take(self, interval: float, capacity: float, cost: float,
                   max_wait: float | None) -> int | None:
        """Take ``cost`` units: the wait in microseconds, or None when allowed unlimited."""
        limit = -1 if max_wait is None else int(max_wait * 1e6)
        waited = 0.0
        delay = _POLL_FIRST
        while True:
            try:
                status, wait = await self.run("take", interval, capacity, cost, limit)
            except LimiterUnavailableError as error:
                if self.mode == "raise":
                    raise
                self.note_outage(error)
                if self.mode == "allow":
                    return None
                if max_wait is not None and waited + delay > max_wait:
                    raise LimiterUnavailableError(
                        f"{self.what}: Redis stayed unavailable for max_wait={max_wait:g}s"
                    ) from error
                await self._sleep(delay)
                waited += delay
                delay = min(delay * 2, _POLL_MAX)
                continue
            if status < 0:
                assert max_wait is not None
                raise wait_error(wait / 1e6, max_wait, self.what)
            return wait

    async def write(self, op: str, interval: float, capacity: float, amount: float) -> None:
        """``penalize`` or ``adjust``: dropped with a warning when Redis is away, unless raise."""
        try:
            await self.run(op, interval, capacity, amount, -1)
        except LimiterUnavailableError as error:
            if self.mode == "raise":
                raise
            self.note_outage(error)


class _RedisGcra:
    """GCRA on one Redis key; the subclasses say what a unit is."""

    def __init__(self, redis: Any, key: str, interval: float, capacity: float, *,
                 max_wait: float | None, on_unavailable: str, what: str,
                 sleep: Callable[[float], Awaitable[object]], late: float | None = None) -> None:
        self._interval_us = interval * 1e6
        self._capacity = capacity
        self._max_wait = check_max_wait(max_wait)
        self._sleep = sleep
        self._late = late
        self._store = _Store(redis, key, on_unavailable, what, sleep)

    @property
    def key(self) -> str:
        """The Redis key holding the theoretical arrival time."""
        return self._store.key

    @property
    def on_unavailable(self) -> OnUnavailable:
        return self._store.mode

    async def acquire(self, cost: float = 1.0) -> None:
        """Wait for room for ``cost`` units and take it (one round trip to Redis; one more only
        when this process woke up too late for its slot and must take a new one)."""
        while True:
            wait = await self._store.take(self._interval_us, self._capacity, float(cost),
                                          self._max_wait)
            if not wait or await slept_on_time(self._sleep, wait / 1e6, self._late):
                return

    async def penalize(self, seconds: float) -> None:
        """Every holder waits ``seconds`` before its next start (moves the shared TAT)."""
        if seconds > 0:
            await self._store.write("penalize", self._interval_us, self._capacity, seconds * 1e6)

    async def _adjust(self, units: float) -> None:
        await self._store.write("adjust", self._interval_us, self._capacity, units)

    async def _ahead(self) -> float:
        """Seconds the shared TAT is ahead of the Redis server's clock (0 when idle)."""
        _, ahead = await self._store.run("peek", self._interval_us, self._capacity, 0, -1)
        return ahead / 1e6


class RedisRateLimiter(_RedisGcra):
    """At most ``rate`` request starts per second across every process sharing ``key``.

    >>> from redis.asyncio import Redis
    >>> limiter = RedisRateLimiter(Redis.from_url("redis://localhost"), key="my-app", rate=15)
    >>> client = AsyncClarifai(limiter=limiter)

    ``burst`` starts may go back to back after an idle period; a caller whose turn is more than
    ``max_wait`` seconds away gets ``LimiterWaitError`` and takes nothing. ``on_unavailable``:
    see the module docs (``"wait"``, ``"allow"`` or ``"raise"``).
    """

    def __init__(
        self,
        redis: Redis,
        *,
        key: str = "default",
        rate: float = CLARIFAI_DEFAULT_RATE,
        burst: int = 1,
        max_wait: float | None = None,
        prefix: str = DEFAULT_PREFIX,
        on_unavailable: OnUnavailable = "wait",
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._rate = check_rate("rate", rate)
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an int >= 1, not {burst!r}")
        self._burst = burst
        name = redis_key(prefix, key, "rate")
        super().__init__(redis, name, 1.0 / self._rate, float(burst), max_wait=max_wait,
                         on_unavailable=on_unavailable, what=f"RedisRateLimiter({name!r})",
                         sleep=sleep, late=late_tolerance(1.0 / self._rate))

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> int:
        return self._burst

    def __repr__(self) -> str:
        return f"RedisRateLimiter(key={self.key!r}, rate={self._rate:g}, burst={self._burst})"


class RedisTokenBudget(_RedisGcra):
    """At most ``tokens_per_minute`` tokens a minute across every process sharing ``key``.

    >>> client = AsyncClarifai(token_budget=RedisTokenBudget(redis, key="my-app",
    ...                                                      tokens_per_minute=200_000))

    Reserved before each request and settled with its real usage (``settle``), like the in-memory
    ``TokenBudget``.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        key: str = "default",
        tokens_per_minute: float,
        max_wait: float | None = None,
        prefix: str = DEFAULT_PREFIX,
        on_unavailable: OnUnavailable = "wait",
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._tpm = check_rate("tokens_per_minute", tokens_per_minute)
        name = redis_key(prefix, key, "tokens")
        super().__init__(redis, name, 60.0 / self._tpm, self._tpm, max_wait=max_wait,
                         on_unavailable=on_unavailable, what=f"RedisTokenBudget({name!r})",
                         sleep=sleep)

    @property
    def tokens_per_minute(self) -> float:
        return self._tpm

    def __repr__(self) -> str:
        return f"RedisTokenBudget(key={self.key!r}, tokens_per_minute={self._tpm:g})"

    async def settle(self, reserved: float, used: float) -> None:
        """Give back ``reserved - used`` tokens (or take the excess when ``used`` is larger)."""
        if used != reserved:
            await self._adjust(used - reserved)

    async def available(self) -> float:
        """Tokens that could be taken right now without waiting (one round trip)."""
        ahead = await self._ahead()
        return max(0.0, self._tpm - ahead * self._tpm / 60.0)


class RedisCooldowns:
    """Model cooldowns shared by every worker: ``AsyncClarifai(cooldown=RedisCooldowns(redis))``.

    A model on a cooldown is one key, ``{prefix}{{{key}}}:cooldown:<sha1 of the model>``, set with
    an expiry of ``seconds``; reading the cooldowns of a call's models is one ``MGET``. When Redis
    is unavailable no model counts as cooling and a mark is dropped with a warning (``"raise"``:
    ``LimiterUnavailableError``; the client logs it and goes on with its fallbacks).
    """

    def __init__(
        self,
        redis: Redis,
        *,
        key: str = "default",
        seconds: float = DEFAULT_COOLDOWN,
        prefix: str = DEFAULT_PREFIX,
        on_unavailable: OnUnavailable = "allow",
    ) -> None:
        self.redis = _check_client(redis)
        self.seconds = check_cooldown(seconds)
        self._base = redis_key(prefix, key, "cooldown:")
        self._mode = _check_mode(on_unavailable)

    def __repr__(self) -> str:
        return f"RedisCooldowns(key={self._base!r}, seconds={self.seconds:g})"

    def key_of(self, model: str) -> str:
        return self._base + hashlib.sha1(model.encode()).hexdigest()

    async def cooling(self, models: Sequence[str]) -> set[str]:
        if not models:
            return set()
        try:
            values = await self.redis.mget([self.key_of(m) for m in models])
        except Exception as exc:
            self._fail(exc, "read cooldowns")
            return set()
        return {model for model, value in zip(models, values, strict=True) if value is not None}

    async def mark(self, model: str, seconds: float) -> None:
        if seconds <= 0:
            return
        try:
            await self.redis.set(self.key_of(model), b"1", px=max(1, math.ceil(seconds * 1000)))
        except Exception as exc:
            self._fail(exc, f"put {model} on a cooldown")

    def _fail(self, exc: Exception, what: str) -> None:
        error = _typed(exc, f"RedisCooldowns: could not {what}")
        if self._mode == "raise" or not isinstance(error, LimiterUnavailableError):
            raise error from exc
        logger.warning("%s (no cooldown applied)", error)
