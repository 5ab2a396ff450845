"""Limits shared through a real ``redis-server``: the rate across 4 processes, a shared throttle
penalty, token budgets, shared model cooldowns, and Redis killed mid-run.

The multi-process tests start ``tests/limit_worker.py`` as separate Python processes against
``tests/arrivals.py``, a loopback server in this process that timestamps every arrival. They take
real time by design (the 240-request run cannot be shorter than (240 - 1) / 15 s); each is bounded
by a generous timeout, and all run in the default suite.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

import aclarifai
from aclarifai import (
    APIConnectionError,
    AsyncClarifai,
    ConfigurationError,
    LimiterUnavailableError,
    LimiterWaitError,
    _retry,
)
from aclarifai._redis_limit import redis_key
from aclarifai.redis import RedisCooldowns, RedisRateLimiter, RedisTokenBudget
from aclarifai.testing import FakeClarifai

from .arrivals import API_KEY, Arrivals, max_in_window
from .conftest import MODEL
from .redis_server import RedisProcess

ROOT = Path(__file__).resolve().parent.parent
OTHER = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []

    async def record(delay: float) -> None:
        recorded.append(delay)

    monkeypatch.setattr(_retry, "sleep", record)
    return recorded


class Recorder:
    """An injectable sleep that records the waits and does not wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.waits.append(delay)


async def run_workers(
    server: Arrivals, count: int, requests: int, *extra: str, timeout: float = 120
) -> list[dict[str, Any]]:
    """Start ``count`` worker processes and wait for their summaries (the server keeps serving)."""
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.limit_worker", "--base-url", server.base_url,
            "--api-key", API_KEY, "--worker", f"w{n}", "--requests", str(requests), *extra,
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for n in range(count)
    ]
    try:
        outputs = await asyncio.wait_for(
            asyncio.gather(*(p.communicate() for p in processes)), timeout
        )
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    summaries = []
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err.decode()
        summaries.append(orjson.loads(out.splitlines()[-1]))
    return summaries


# -- one rate across processes (real time: about 16 s each) ------------------------------------


@pytest.mark.realtime
async def test_4_processes_share_one_redis_limiter(redis_url: str) -> None:
    async with Arrivals() as server:
        summaries = await run_workers(server, 4, 60, "--redis", redis_url, "--key", "four")
    assert [s["errors"] for s in summaries] == [[]] * 4
    assert sum(s["ok"] for s in summaries) == 240
    starts = server.starts()
    assert len(starts) == 240  # no request lost, none sent twice
    assert {a.worker for a in server.arrivals} == {"w0", "w1", "w2", "w3"}
    assert max_in_window(starts) <= 15 + 1
    whole_run = max(s["ended"] for s in summaries) - min(s["began"] for s in summaries)
    assert whole_run >= (240 - 1) / 15


@pytest.mark.realtime
async def test_the_in_memory_limiter_holds_the_same_rate_in_one_process() -> None:
    async with Arrivals() as server:
        (summary,) = await run_workers(server, 1, 240, "--concurrency", "4")
    assert summary["ok"] == 240 and summary["errors"] == []
    starts = server.starts()
    assert len(starts) == 240
    assert max_in_window(starts) <= 15 + 1
    assert summary["ended"] - summary["began"] >= (240 - 1) / 15


@pytest.mark.realtime
async def test_a_429_seen_by_one_process_pauses_the_others(redis_url: str) -> None:
    async with Arrivals(throttle_at={20}, retry_after="2") as server:
        summaries = await run_workers(server, 4, 12, "--redis", redis_url, "--key", "pause")
    assert sum(s["ok"] for s in summaries) == 48 and all(not s["errors"] for s in summaries)
    throttled = next(a for a in server.arrivals if a.status == 429)
    t = throttled.at
    for worker in {"w0", "w1", "w2", "w3"} - {throttled.worker}:
        later = [a.at - t for a in server.arrivals if a.worker == worker and a.at > t]
        if not later:
            continue  # this worker had finished before the 429
        # At most the one slot this worker had already been given goes ahead (they are booked at
        # most 4 intervals ahead); its next start waits for the shared penalty.
        booked = [d for d in later if d < 0.4]
        assert len(booked) <= 1, later
        paused = [d for d in later if d >= 0.4]
        if paused:
            assert 1.95 <= paused[0] < 2.0 + 1.0, later
    assert not [a for a in server.arrivals if 0.4 <= a.at - t < 1.95]


# -- the Lua script ------------------------------------------------------------------------------


async def test_acquire_is_one_key_fifo_and_expires(redis: Redis) -> None:
    recorder = Recorder()
    limiter = RedisRateLimiter(redis, key="fifo", rate=10, burst=2, sleep=recorder)
    assert limiter.key == "aclarifai:{fifo}:rate"
    for _ in range(5):
        await limiter.acquire()
    assert recorder.waits == pytest.approx([0.1, 0.2, 0.3], abs=0.02)  # after a burst of 2
    assert await redis.keys("*") == [b"aclarifai:{fifo}:rate"]  # O(1): one key
    ttl = await redis.pttl(limiter.key)
    assert 1000 < ttl <= 500 + 1000  # the TAT is 0.5 s ahead; the key outlives it by 1 s


async def test_keys_carry_a_hash_tag_for_cluster() -> None:
    assert redis_key("aclarifai:", "tenant-a", "rate") == "aclarifai:{tenant-a}:rate"
    assert redis_key("app:", "{shared}:x", "tokens") == "app:{shared}:x:tokens"
    with pytest.raises(ConfigurationError):
        redis_key("p:", "", "rate")


async def test_penalize_moves_the_shared_arrival_time(redis: Redis) -> None:
    one = Recorder()
    other = Recorder()
    first = RedisRateLimiter(redis, key="penalty", rate=10, sleep=one)
    second = RedisRateLimiter(redis, key="penalty", rate=10, sleep=other)  # another worker
    await first.acquire()
    await first.penalize(2.0)
    await second.acquire()
    await second.acquire()
    assert other.waits == pytest.approx([2.0, 2.1], abs=0.05)


async def test_max_wait_refuses_without_taking_the_slot(redis: Redis) -> None:
    recorder = Recorder()
    limiter = RedisRateLimiter(redis, key="mw", rate=1, max_wait=0.5, sleep=recorder)
    await limiter.acquire()
    for _ in range(3):
        with pytest.raises(LimiterWaitError, match="max_wait"):
            await limiter.acquire()
    patient = RedisRateLimiter(redis, key="mw", rate=1, sleep=recorder)
    await patient.acquire()
    assert recorder.waits == [pytest.approx(1.0, abs=0.05)]  # the refused slots were not taken


async def test_a_key_holding_something_else_is_a_configuration_error(redis: Redis) -> None:
    await redis.hset("aclarifai:{bad}:rate", "x", "1")
    limiter = RedisRateLimiter(redis, key="bad", on_unavailable="allow")
    with pytest.raises(ConfigurationError, match="Redis refused"):
        await limiter.acquire()


# -- token budgets -------------------------------------------------------------------------------


async def test_redis_token_budget_waits_and_settles(redis: Redis, fake: FakeClarifai) -> None:
    recorder = Recorder()
    budget = RedisTokenBudget(redis, key="tpm", tokens_per_minute=6000, sleep=recorder)
    strict = RedisTokenBudget(redis, key="tpm", tokens_per_minute=6000, max_wait=0)
    started = time.monotonic()  # the budget refills 100 tokens a second meanwhile
    await budget.acquire(5000)
    assert 998 <= await budget.available() <= 1000 + 100 * (time.monotonic() - started)
    with pytest.raises(LimiterWaitError):
        await strict.acquire(2000)  # over the budget: it would wait
    await budget.settle(5000, 100)  # the real usage: 4900 come back
    assert 5898 <= await budget.available() <= 5900 + 100 * (time.monotonic() - started)
    await strict.acquire(2000)

    usage = {"prompt_tokens": 40, "completion_tokens": 60, "total_tokens": 100}
    fake.add_text("a", usage=usage, delay=0.05)
    fake.add_text("b", usage=usage)
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url,
                             token_budget=budget) as client:
        await asyncio.gather(
            client.acompletion(MODEL, MESSAGES, max_tokens=2500),
            client.acompletion(MODEL, MESSAGES, max_tokens=2500),
        )
    assert len(recorder.waits) == 1 and recorder.waits[0] > 5  # the second reservation waited
    # 2000 taken directly, 2 x 100 used by the requests, their reservations settled
    assert 3698 <= await budget.available() <= 3700 + 100 * (time.monotonic() - started)


# -- cooldowns shared by workers -----------------------------------------------------------------


async def test_fallback_and_a_cooldown_shared_through_redis(
    redis_url: str, fake: FakeClarifai, sleeps: list[float]
) -> None:
    async def worker() -> tuple[Redis, AsyncClarifai]:
        redis = Redis.from_url(redis_url)
        store = RedisCooldowns(redis, key="models", seconds=30)
        client = AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=1,
                               cooldown=store)
        return redis, client

    (redis_a, first), (redis_b, second) = await worker(), await worker()
    try:
        fake.add_error(503, times=2)  # the primary fails, with its retry
        completion = await first.acompletion(MODEL, MESSAGES, fallbacks=[OTHER])
        assert completion.model == OTHER
        assert [r.json["model"] for r in fake.requests] == [MODEL, MODEL, OTHER]

        # Another worker (its own client and Redis connection) skips the cooling primary.
        again = await second.acompletion(MODEL, MESSAGES, fallbacks=[OTHER])
        assert again.model == OTHER and fake.request_count == 4
        ttl = await redis_b.pttl(RedisCooldowns(redis_b, key="models").key_of(MODEL))
        assert 25_000 < ttl <= 30_000
    finally:
        for client in (first, second):
            await client.aclose()
        for redis in (redis_a, redis_b):
            await redis.aclose()


# -- Redis killed mid-run ------------------------------------------------------------------------


def quick_redis(process: RedisProcess) -> Redis:
    return Redis.from_url(process.url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=1)


async def test_redis_killed_raise_mode_raises_a_typed_error(
    redis_process: RedisProcess, fake: FakeClarifai
) -> None:
    redis = quick_redis(redis_process)
    limiter = RedisRateLimiter(redis, key="k", rate=50, on_unavailable="raise")
    try:
        async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url,
                                 limiter=limiter) as client:
            await client.acompletion(MODEL, MESSAGES)
            redis_process.kill()
            for call in (client.acompletion(MODEL, MESSAGES),
                         client.acompletion(MODEL, MESSAGES, stream=True)):
                with pytest.raises(LimiterUnavailableError, match="Redis is unavailable") as info:
                    await call
                assert isinstance(info.value, APIConnectionError)
                assert type(info.value).__module__ == "aclarifai.errors"
            with pytest.raises(LimiterUnavailableError):
                await limiter.penalize(1.0)
        assert fake.request_count == 1  # nothing sent unlimited, nothing retried
    finally:
        await redis.aclose()


async def test_redis_killed_allow_mode_lets_requests_through(
    redis_process: RedisProcess, fake: FakeClarifai, caplog: pytest.LogCaptureFixture
) -> None:
    redis = quick_redis(redis_process)
    limiter = RedisRateLimiter(redis, key="k", rate=50, on_unavailable="allow")
    try:
        async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url,
                                 limiter=limiter) as client:
            await client.acompletion(MODEL, MESSAGES)
            redis_process.kill()
            with caplog.at_level(logging.WARNING, logger="aclarifai"):
                for _ in range(3):
                    await client.acompletion(MODEL, MESSAGES)
                await limiter.penalize(1.0)  # dropped, with the outage warning
        assert fake.request_count == 4
        warnings = [r for r in caplog.records if "Redis is unavailable" in r.getMessage()]
        assert len(warnings) == 1  # once per outage
    finally:
        await redis.aclose()


async def test_redis_killed_wait_mode_waits_for_it_to_come_back(
    redis_process: RedisProcess, fake: FakeClarifai
) -> None:
    redis = quick_redis(redis_process)
    limiter = RedisRateLimiter(redis, key="k", rate=50)  # on_unavailable="wait"
    bounded = RedisRateLimiter(redis, key="k", rate=50, max_wait=0.3)
    try:
        async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url,
                                 limiter=limiter) as client:
            await client.acompletion(MODEL, MESSAGES)
            redis_process.kill()
            waiting = asyncio.ensure_future(client.acompletion(MODEL, MESSAGES))
            with pytest.raises(LimiterUnavailableError, match="max_wait"):
                await asyncio.wait_for(bounded.acquire(), 10)
            assert not waiting.done() and fake.request_count == 1
            redis_process.start()
            started = time.monotonic()
            assert await asyncio.wait_for(waiting, 20)  # goes once Redis is back
            assert time.monotonic() - started < 15
        assert fake.request_count == 2
    finally:
        await redis.aclose()


# -- packaging -----------------------------------------------------------------------------------


def test_import_aclarifai_does_not_import_redis() -> None:
    code = "import sys, aclarifai; aclarifai.AsyncClarifai; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_aclarifai_redis_without_the_extra_names_it() -> None:
    code = "import sys; sys.modules['redis'] = None; import aclarifai.redis"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0
    assert "ImportError" in out.stderr and "pip install 'aclarifai[redis]'" in out.stderr


def test_the_redis_limiters_check_their_arguments() -> None:
    with pytest.raises(ConfigurationError, match="redis.asyncio.Redis"):
        RedisRateLimiter("redis://localhost")  # type: ignore[arg-type]
    redis = Redis()
    with pytest.raises(ConfigurationError, match="on_unavailable"):
        RedisRateLimiter(redis, on_unavailable="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rate"):
        RedisRateLimiter(redis, rate=0)
    assert isinstance(RedisRateLimiter(redis), aclarifai.Limiter)
    assert isinstance(RedisTokenBudget(redis, tokens_per_minute=10), aclarifai.TokenLimiter)
