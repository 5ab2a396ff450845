"""The limiter protocol in the client (every attempt acquires, throttles penalize), the in-memory
``RateLimiter`` and ``TokenBudget``, and fallbacks with in-memory cooldowns, over loopback HTTP.

The Redis limiters and cooldowns, and the multi-process runs, are in ``test_redis_limits.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import aclarifai
from aclarifai import (
    AsyncClarifai,
    Cooldowns,
    Hooks,
    InternalServerError,
    Limiter,
    LimiterWaitError,
    RateLimiter,
    RateLimitError,
    ResponseInfo,
    StreamError,
    TokenBudget,
    TokenLimiter,
    _retry,
    abatch_completion,
)
from aclarifai._admission import DEFAULT_COMPLETION_TOKENS, estimate_tokens
from aclarifai.testing import FakeClarifai, make_chunk

from .conftest import MODEL

OTHER = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
THIRD = "https://clarifai.com/meta/Llama-3/models/Llama-3_2-3B-Instruct"
MESSAGES = [{"role": "user", "content": "hello"}]


class CountingLimiter:
    """A limiter of our own: the protocol is two coroutines, nothing else."""

    def __init__(self) -> None:
        self.acquired: list[float] = []
        self.penalties: list[float] = []

    async def acquire(self, cost: float = 1.0) -> None:
        self.acquired.append(cost)

    async def penalize(self, seconds: float) -> None:
        self.penalties.append(seconds)


class FakeTime:
    """A clock and a sleep for the in-memory limiters: sleeping records the delay, waits 0."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits recorded instead of slept."""
    recorded: list[float] = []

    async def record(delay: float) -> None:
        recorded.append(delay)

    monkeypatch.setattr(_retry, "sleep", record)
    return recorded


def client_for(fake: FakeClarifai, **kwargs: Any) -> AsyncClarifai:
    return AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, **kwargs)


# -- the protocol: every attempt acquires ---------------------------------------------------------


def test_limiters_implement_the_protocol() -> None:
    assert isinstance(RateLimiter(15), Limiter)
    assert isinstance(TokenBudget(1000), TokenLimiter)
    assert isinstance(CountingLimiter(), Limiter)
    assert aclarifai.RateLimiter is aclarifai.batch.RateLimiter  # one class, two import paths


def test_a_limiter_without_the_protocol_is_refused_at_once() -> None:
    with pytest.raises(aclarifai.ConfigurationError, match="penalize"):
        AsyncClarifai(api_key="k", limiter=object())  # type: ignore[arg-type]
    with pytest.raises(aclarifai.ConfigurationError, match="settle"):
        AsyncClarifai(api_key="k", token_budget=RateLimiter(1))  # type: ignore[arg-type]


async def test_every_attempt_acquires_retries_included(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    limiter = CountingLimiter()
    async with client_for(fake, limiter=limiter, max_retries=2) as client:
        fake.add_error(503, headers={"Retry-After": "0"})
        fake.add_text("after one retry")
        completion = await client.acompletion(MODEL, MESSAGES)
        assert completion.choices[0].message.content == "after one retry"
        assert limiter.acquired == [1.0, 1.0]

        fake.add_error(503, headers={"Retry-After": "0"})
        fake.add_text("streamed after one retry")
        chunks = [c async for c in client.chat.completions.create(MODEL, MESSAGES)]
        assert chunks and len(limiter.acquired) == 4

        await client.models.list()
        assert len(limiter.acquired) == 5
    assert fake.request_count == 5


async def test_the_limiter_of_one_call_replaces_the_clients(fake: FakeClarifai) -> None:
    own, per_call = CountingLimiter(), CountingLimiter()
    async with client_for(fake, limiter=own) as client:
        await client.acompletion(MODEL, MESSAGES, limiter=per_call)
        await aclarifai.acompletion(MODEL, MESSAGES, client=client)
    await aclarifai.acompletion(
        MODEL, MESSAGES, api_key=fake.api_key, base_url=fake.base_url, limiter=per_call
    )
    await aclarifai.aclose_default_clients()
    assert len(own.acquired) == 1 and len(per_call.acquired) == 2


async def test_batches_wait_on_any_limiter_for_every_attempt(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    limiter = CountingLimiter()
    fake.add_error(503, headers={"Retry-After": "0"})
    async with client_for(fake) as client:
        result = await abatch_completion(
            MODEL, [MESSAGES] * 3, client=client, rate_limit=limiter, max_concurrency=1
        )
    assert result.ok and len(limiter.acquired) == 4  # three items, one retry


# -- throttles penalize every holder -------------------------------------------------------------


async def test_a_429_penalizes_with_its_retry_after(fake: FakeClarifai, sleeps: list[float]) -> None:
    limiter = CountingLimiter()
    async with client_for(fake, limiter=limiter, max_retries=1) as client:
        fake.add_error(429, headers={"Retry-After": "2"})
        assert await client.acompletion(MODEL, MESSAGES)  # retried once
        fake.add_error(429, headers={"Retry-After": "2"})
        with pytest.raises(RateLimitError):
            await client.acompletion(MODEL, MESSAGES, max_retries=0)
    assert limiter.penalties == [2.0, 2.0]  # also when the caller gives up


async def test_clarifai_throttle_codes_penalize_without_retry_after(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    limiter = CountingLimiter()
    throttled = {"status": {"code": 11005, "description": "Making too many requests"}}
    fake.add_response(200, throttled)
    fake.add_error(503)  # not a throttle: no penalty
    async with client_for(fake, limiter=limiter, max_retries=1) as client:
        with pytest.raises(aclarifai.APIError) as info:
            await client.acompletion(MODEL, MESSAGES)
    assert info.value.code == 11005 or isinstance(info.value, InternalServerError)
    assert limiter.penalties == [aclarifai._admission.DEFAULT_PENALTY]


async def test_penalize_holds_every_holder_back() -> None:
    clock = FakeTime()
    limiter = RateLimiter(10, clock=clock.clock, sleep=clock.sleep)
    await limiter.acquire()
    await limiter.penalize(2.0)
    await limiter.acquire()
    await limiter.acquire()
    assert clock.sleeps == pytest.approx([2.0, 2.1])  # the pause, then the steady rate


# -- max_wait ------------------------------------------------------------------------------------


async def test_a_wait_longer_than_max_wait_raises_without_taking_the_slot(
    fake: FakeClarifai,
) -> None:
    clock = FakeTime()
    limiter = RateLimiter(1, max_wait=0.5, clock=clock.clock, sleep=clock.sleep)
    async with client_for(fake, limiter=limiter, max_retries=3) as client:
        await client.acompletion(MODEL, MESSAGES)
        for call in (client.acompletion(MODEL, MESSAGES), client.acompletion(MODEL, MESSAGES, stream=True)):
            with pytest.raises(LimiterWaitError, match="max_wait") as info:
                await call
            assert isinstance(info.value, RateLimitError)
        clock.now = 1.0  # the slot that was refused twice is still free
        await client.acompletion(MODEL, MESSAGES)
    assert fake.request_count == 2 and clock.sleeps == []


# -- token budgets -------------------------------------------------------------------------------


def test_the_estimate_is_the_body_size_over_four_plus_the_completion_cap() -> None:
    assert estimate_tokens({"max_tokens": 100}, 400) == 200
    assert estimate_tokens({"max_completion_tokens": 50, "max_tokens": 100}, 401) == 151
    assert estimate_tokens({}, 8) == 2 + DEFAULT_COMPLETION_TOKENS


async def test_reservations_over_the_budget_wait_and_settlement_gives_back(
    fake: FakeClarifai,
) -> None:
    clock = FakeTime()
    budget = TokenBudget(6000, clock=clock.clock, sleep=clock.sleep)  # 100 tokens a second
    usage = {"prompt_tokens": 40, "completion_tokens": 60, "total_tokens": 100}
    async with client_for(fake, token_budget=budget) as client:
        fake.add_text("a", usage=usage)
        body = client.acompletion(MODEL, MESSAGES, max_tokens=4000).body
        first = await client.acompletion(MODEL, MESSAGES, max_tokens=4000)
        assert first.usage is not None and first.usage.total_tokens == 100
        reserved = 4000 + len(aclarifai._http._dumps(dict(body, stream=False))) // 4 + 1
        assert budget.available() == pytest.approx(6000 - 100, abs=1)  # settled to real usage
        assert clock.sleeps == []

        # Two reservations of ~4000 on a budget with ~5900 left: the second one waits.
        fake.add_text("b", usage=usage, delay=0.05)
        fake.add_text("c", usage=usage)
        await asyncio.gather(
            client.acompletion(MODEL, MESSAGES, max_tokens=4000),
            client.acompletion(MODEL, MESSAGES, max_tokens=4000),
        )
    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] == pytest.approx((100 + 2 * reserved - 6000) / 100, abs=0.05)
    assert budget.available() == pytest.approx(6000 - 300, abs=1)


async def test_a_failed_attempt_gives_its_reservation_back(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    clock = FakeTime()
    budget = TokenBudget(6000, clock=clock.clock, sleep=clock.sleep)
    fake.add_error(503, headers={"Retry-After": "0"}, times=2)
    async with client_for(fake, token_budget=budget, max_retries=1) as client:
        with pytest.raises(InternalServerError):
            await client.acompletion(MODEL, MESSAGES, max_tokens=3000)
        assert budget.available() == pytest.approx(6000)
        fake.add_text("streamed", usage={"prompt_tokens": 5, "completion_tokens": 5,
                                         "total_tokens": 10})
        assert [c async for c in client.acompletion(MODEL, MESSAGES, max_tokens=3000)]
    assert budget.available() == pytest.approx(5990, abs=1)


# -- fallbacks -----------------------------------------------------------------------------------


async def test_a_failing_primary_falls_back_and_is_then_skipped(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    answered: list[ResponseInfo] = []
    hooks = Hooks(on_response=answered.append)
    async with client_for(fake, hooks=hooks, max_retries=1) as client:
        fake.add_error(503, times=2)  # the primary, with its retry
        completion = await client.acompletion(MODEL, MESSAGES, fallbacks=[OTHER])
        assert completion.model == OTHER
        assert answered[-1].request.model == OTHER and answered[-1].model == OTHER
        assert [r.json["model"] for r in fake.requests] == [MODEL, MODEL, OTHER]

        # The primary is cooling: the next call goes straight to the fallback, streamed too.
        chunks = [c async for c in client.acompletion(MODEL, MESSAGES, fallbacks=[OTHER])]
        assert chunks[0].model == OTHER and fake.last_request.json["model"] == OTHER
    assert fake.request_count == 4


async def test_stream_falls_back_before_output_and_never_after(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    async with client_for(fake, max_retries=0, cooldown=Cooldowns()) as client:
        fake.add_error(404)  # model not found
        fake.add_text("from the third", chunks=2)
        stream = client.acompletion(MODEL, MESSAGES, fallbacks=[THIRD], stream=True)
        async with await stream as chunks:
            text = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
        assert text == "from the third"
        assert [r.json["model"] for r in fake.requests] == [MODEL, THIRD]

        error_chunk = {"error": {"message": "model crashed", "code": 21351}}
        fake.add_chunks([make_chunk({"content": "half"}), error_chunk], done=False, chunk_delay=0.1)
        got: list[str] = []
        with pytest.raises(StreamError):
            async for chunk in client.acompletion(OTHER, MESSAGES, fallbacks=[THIRD]):
                got.append(chunk.choices[0].delta.content or "")
        assert got == ["half"] and fake.request_count == 3  # no fallback after the first chunk


async def test_errors_another_model_cannot_fix_do_not_fall_back(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    async with client_for(fake, max_retries=0) as client:
        fake.add_error(400)
        with pytest.raises(aclarifai.BadRequestError):
            await client.acompletion(MODEL, MESSAGES, fallbacks=[OTHER])
        fake.add_error(503)
        fake.add_error(503)
        with pytest.raises(InternalServerError):  # every model failed: the last error
            await client.acompletion(OTHER, MESSAGES, fallbacks=[THIRD])
        assert await client.cooldown_store.cooling([OTHER, THIRD, MODEL]) == {OTHER, THIRD}
    assert fake.request_count == 3


async def test_fallbacks_are_checked_before_any_request() -> None:
    with pytest.raises(aclarifai.ConfigurationError, match="list of models"):
        aclarifai.acompletion(MODEL, MESSAGES, api_key="k", fallbacks=OTHER)
    with pytest.raises(aclarifai.ConfigurationError, match="cooldown"):
        AsyncClarifai(api_key="k", cooldown=-1)


async def test_in_memory_cooldowns_expire() -> None:
    clock = FakeTime()
    store = Cooldowns(clock=clock.clock)
    await store.mark(MODEL, 30)
    assert await store.cooling([MODEL, OTHER]) == {MODEL}
    clock.now = 31
    assert await store.cooling([MODEL, OTHER]) == set()



async def test_an_agent_falls_back_and_its_turn_names_the_model(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    limiter = CountingLimiter()
    async with client_for(fake, max_retries=0, limiter=limiter) as client:
        agent = aclarifai.Agent(MODEL, client=client, fallbacks=[OTHER])
        fake.add_error(503)
        fake.add_text("answered by the fallback")
        events = [event async for event in agent.stream("hello")]
    turns = [e for e in events if isinstance(e, aclarifai.TurnFinished)]
    assert [t.model for t in turns] == [OTHER]
    assert agent.last_result is not None and agent.last_result.output == "answered by the fallback"
    assert len(limiter.acquired) == 2  # each attempt of each turn
