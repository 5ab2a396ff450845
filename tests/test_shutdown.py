"""``aclose()`` ends everything in flight: streams mid-body, retry waits, limiter waits, connects.

Over loopback HTTP against FakeClarifai. Every wait is bounded (``asyncio.wait_for`` with a
generous bound, only so that a regression fails instead of hanging); nothing asserts on timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

import aclarifai
from aclarifai import (
    APIConnectionError,
    AsyncClarifai,
    ChatCompletion,
    ClientClosedError,
    CompletionStream,
    Hooks,
    RateLimiter,
)
from aclarifai.testing import FakeClarifai

from .conftest import MODEL

MESSAGES = [{"role": "user", "content": "Hello"}]
WORDS = " ".join(f"w{i}" for i in range(20))
GUARD = 30.0  # seconds: a hang guard, never a timing assertion


def make_client(fake: FakeClarifai, **options: Any) -> AsyncClarifai:
    return AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, **options)


def connector_of(client: AsyncClarifai) -> aiohttp.BaseConnector:
    session = client._session
    assert session is not None and session.connector is not None
    return session.connector


async def read_all(stream: CompletionStream, started: Callable[[], None]) -> list[str]:
    """Read a stream chunk by chunk; ``started()`` once the first chunk arrived."""
    texts: list[str] = []
    async for chunk in stream:
        texts.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
        if len(texts) == 1:
            started()
    return texts


def closed(error: BaseException | None) -> bool:
    """The one error a call ends with when its client is closed."""
    return isinstance(error, ClientClosedError) and "the client was closed" in str(error)


async def all_end(tasks: list[asyncio.Task[Any]]) -> list[BaseException | None]:
    """Wait (bounded) for every task to end; their exceptions (None: returned normally)."""
    await asyncio.wait_for(asyncio.wait(tasks), GUARD)
    return [t.exception() for t in tasks]


async def nothing_left(fake: FakeClarifai, client: AsyncClarifai, before: set[Any]) -> None:
    """No connection at the server, none in the client, no task of ours still pending."""
    await fake.wait_idle(GUARD, connections=True)
    assert fake.open_connections == 0
    assert client._session is None
    assert client._in_flight._waiting == {} and client._in_flight._cancelled == set()
    assert asyncio.all_tasks() <= before


async def test_aclose_ends_50_streams_mid_body(fake: FakeClarifai) -> None:
    before = asyncio.all_tasks()
    fake.add_text(WORDS, stall_after=3, times=50)  # three chunks, then the server goes silent
    client = make_client(fake)
    started = 0
    all_started = asyncio.Event()

    def one_started() -> None:
        nonlocal started
        started += 1
        if started == 50:
            all_started.set()

    streams = [await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
               for _ in range(50)]
    tasks = [asyncio.create_task(read_all(s, one_started)) for s in streams]
    await asyncio.wait_for(all_started.wait(), GUARD)
    await fake.wait_until(lambda: fake.active_requests == 50, GUARD)
    connector = connector_of(client)

    await client.aclose()

    assert connector.closed
    errors = await all_end(tasks)
    assert all(closed(e) for e in errors), errors
    for stream, error in zip(streams, errors, strict=True):
        assert isinstance(error, APIConnectionError) and str(error).startswith(
            "the client was closed"
        )
        assert error.request_id is not None and error.partial is not None
        # What the caller had received is kept: the chunks sent before the stall.
        assert (error.partial.choices[0].message.content or "").startswith("w0")
        with pytest.raises(ClientClosedError):  # iterating again says the same
            await stream.__anext__()
    await nothing_left(fake, client, before)
    assert fake.streams_aborted == 50


async def test_aclose_ends_streams_read_as_events_and_whole(fake: FakeClarifai) -> None:
    before = asyncio.all_tasks()
    fake.add_text(WORDS, stall_after=2, times=2)
    client = make_client(fake)
    first = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
    second = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
    got_event = asyncio.Event()

    async def events() -> None:
        async for _event in first.events():
            got_event.set()

    tasks = [asyncio.create_task(events()), asyncio.create_task(second.get_final_completion())]
    await asyncio.wait_for(got_event.wait(), GUARD)
    await fake.wait_until(lambda: fake.active_requests == 2, GUARD)
    await client.aclose()
    errors = await all_end(tasks)
    assert len(errors) == 2 and all(closed(e) for e in errors), errors
    await nothing_left(fake, client, before)


@pytest.mark.parametrize("stream", [True, False])
async def test_aclose_ends_calls_waiting_in_a_retry_backoff(
    fake: FakeClarifai, stream: bool
) -> None:
    before = asyncio.all_tasks()
    # A real 30 s wait before each retry: only aclose() can end it in time.
    fake.add_error(503, headers={"Retry-After": "30"}, times=10)
    waiting = 0
    all_waiting = asyncio.Event()

    def on_error(info: Any) -> None:
        nonlocal waiting
        if info.will_retry:
            waiting += 1
            if waiting == 10:
                all_waiting.set()

    client = make_client(fake, hooks=Hooks(on_error=on_error))

    async def call() -> object:
        if stream:
            return [chunk async for chunk in client.acompletion(model=MODEL, messages=MESSAGES)]
        return await client.acompletion(model=MODEL, messages=MESSAGES)

    tasks = [asyncio.create_task(call()) for _ in range(10)]
    await asyncio.wait_for(all_waiting.wait(), GUARD)
    await client.aclose()
    errors = await all_end(tasks)
    assert all(closed(e) for e in errors), errors
    assert fake.request_count == 10  # no retry was sent
    await nothing_left(fake, client, before)


async def test_aclose_ends_calls_waiting_on_a_limiter(fake: FakeClarifai) -> None:
    before = asyncio.all_tasks()
    sleeping = 0
    all_sleeping = asyncio.Event()

    async def counted_sleep(delay: float) -> None:
        nonlocal sleeping
        sleeping += 1
        if sleeping == 6:
            all_sleeping.set()
        await asyncio.sleep(delay)

    # One start every 1000 s: the first call goes at once, the other six wait for their slot.
    limiter = RateLimiter(0.001, sleep=counted_sleep)
    fake.add_text("the first one", times=1)
    client = make_client(fake, limiter=limiter)
    first = await client.acompletion(model=MODEL, messages=MESSAGES)
    assert isinstance(first, ChatCompletion)

    async def call(stream: bool) -> object:
        if stream:
            return [chunk async for chunk in client.acompletion(model=MODEL, messages=MESSAGES)]
        return await client.acompletion(model=MODEL, messages=MESSAGES)

    tasks = [asyncio.create_task(call(i % 2 == 0)) for i in range(6)]
    await asyncio.wait_for(all_sleeping.wait(), GUARD)
    await client.aclose()
    errors = await all_end(tasks)
    assert all(closed(e) for e in errors), errors
    assert fake.request_count == 1
    await nothing_left(fake, client, before)


async def test_aclose_ends_calls_not_yet_connected_or_answered(fake: FakeClarifai) -> None:
    """One connection allowed: one stream holds it mid-body, the others wait for it; and two
    calls whose answer never begins (the server delays its headers)."""
    before = asyncio.all_tasks()
    fake.add_text(WORDS, stall_after=1)
    fake.add_text("late", delay=3600, times=2)
    client = make_client(fake, max_connections=1)
    got_chunk = asyncio.Event()
    holder = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
    tasks: list[asyncio.Task[Any]] = [asyncio.create_task(read_all(holder, got_chunk.set))]
    await asyncio.wait_for(got_chunk.wait(), GUARD)
    # These four wait for the one connection (the pool is full): not yet connected.
    tasks += [asyncio.create_task(_stream_text(client)) for _ in range(2)]
    tasks += [asyncio.create_task(client.acompletion(model=MODEL, messages=MESSAGES)._resolve())
              for _ in range(2)]
    for _ in range(5):
        await asyncio.sleep(0)  # let them reach the pool's queue
    assert fake.request_count == 1 and len(client._in_flight._waiting) == 4
    await client.aclose()
    errors = await all_end(tasks)
    assert all(closed(e) for e in errors), errors
    await nothing_left(fake, client, before)

    # Without the pool limit: two requests waiting for headers that never come.
    client = make_client(fake)
    tasks = [asyncio.create_task(client.acompletion(model=MODEL, messages=MESSAGES)._resolve()),
             asyncio.create_task(_stream_text(client))]
    await fake.wait_until(lambda: fake.active_requests == 2, GUARD)
    await client.aclose()
    errors = await all_end(tasks)
    assert all(closed(e) for e in errors), errors
    await nothing_left(fake, client, before)


async def _stream_text(client: AsyncClarifai) -> str:
    return "".join([chunk.choices[0].delta.content or "" async for chunk in
                    client.acompletion(model=MODEL, messages=MESSAGES) if chunk.choices])


async def test_a_call_after_aclose_raises_the_same_error(fake: FakeClarifai) -> None:
    fake.add_text("served")
    client = make_client(fake)
    assert isinstance(await client.acompletion(model=MODEL, messages=MESSAGES), ChatCompletion)
    await client.aclose()
    await client.aclose()  # idempotent
    assert client.closed
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: client.acompletion(model=MODEL, messages=MESSAGES)._resolve(),
        lambda: client.acompletion(model=MODEL, messages=MESSAGES, stream=True)._resolve(),
        lambda: _stream_text(client),
        client.models.list,
    ]
    for call in calls:
        with pytest.raises(ClientClosedError, match="the client was closed"):
            await asyncio.wait_for(call(), GUARD)
    with pytest.raises(ClientClosedError):
        async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True):
            pass
    assert fake.request_count == 1


async def test_a_stream_opened_before_aclose_and_read_after(fake: FakeClarifai) -> None:
    fake.add_text(WORDS)
    client = make_client(fake)
    stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(stream.__anext__(), GUARD)
    await fake.wait_idle(GUARD, connections=True)


async def test_a_cancellation_with_the_close_stays_a_cancellation(fake: FakeClarifai) -> None:
    """The caller's own cancel is not turned into the closed error."""
    fake.add_error(503, headers={"Retry-After": "30"})
    retrying = asyncio.Event()
    client = make_client(fake, hooks=Hooks(on_error=lambda info: retrying.set()))
    task = asyncio.create_task(client.acompletion(model=MODEL, messages=MESSAGES)._resolve())
    await asyncio.wait_for(retrying.wait(), GUARD)
    await asyncio.sleep(0)  # into the retry's sleep
    task.cancel()
    await client.aclose()
    await asyncio.wait_for(asyncio.wait([task]), GUARD)
    assert task.cancelled()


async def test_aclose_default_clients_ends_their_streams(fake: FakeClarifai) -> None:
    before = asyncio.all_tasks()
    fake.add_text(WORDS, stall_after=2, times=5)
    fake.add_text("after the close")
    started = 0
    all_started = asyncio.Event()

    def one_started() -> None:
        nonlocal started
        started += 1
        if started == 5:
            all_started.set()

    async def default_stream() -> list[str]:
        stream = await aclarifai.acompletion(
            model=MODEL, messages=MESSAGES, api_key=fake.api_key, base_url=fake.base_url,
            stream=True,
        )
        return await read_all(stream, one_started)

    tasks = [asyncio.create_task(default_stream()) for _ in range(5)]
    await asyncio.wait_for(all_started.wait(), GUARD)
    await aclarifai.aclose_default_clients()
    errors = await all_end(tasks)
    assert all(closed(e) for e in errors), errors
    await fake.wait_idle(GUARD, connections=True)
    assert fake.open_connections == 0 and asyncio.all_tasks() <= before

    # The default clients reopen on next use (documented).
    completion = await aclarifai.acompletion(
        model=MODEL, messages=MESSAGES, api_key=fake.api_key, base_url=fake.base_url
    )
    assert completion.choices[0].message.content == "after the close"
    await aclarifai.aclose_default_clients()


async def test_a_batch_ends_with_its_client_closed(fake: FakeClarifai) -> None:
    """A closed client ends a batch (docs/batches.md); it is not one failed item after another."""
    before = asyncio.all_tasks()
    fake.add_text("first")
    fake.add_text("late", delay=3600, times=4)
    client = make_client(fake)
    batch = aclarifai.abatch_stream(MODEL, [MESSAGES] * 100, max_concurrency=4, client=client)
    seen = []

    async def consume() -> None:
        async for item in batch:
            seen.append(item)
            await fake.wait_until(lambda: fake.active_requests == 4, GUARD)
            await client.aclose()

    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(consume(), GUARD)
    assert [item.error for item in seen] == [None]
    assert fake.request_count == 5
    await nothing_left(fake, client, before)

    with pytest.raises(ClientClosedError):  # and a batch on a closed client does not start
        await asyncio.wait_for(
            aclarifai.abatch_completion(MODEL, [MESSAGES] * 3, client=client), GUARD
        )
