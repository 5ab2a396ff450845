"""Streamed batches: ``abatch_stream()`` over large and endless inputs against FakeClarifai (real
loopback HTTP), its bounded window, ordering, cancellation, and ``BatchItem.to_row()``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

import aclarifai
from aclarifai import AsyncClarifai, BadRequestError, BatchItem, abatch_stream
from aclarifai.batch import ROW_COLUMNS, total_usage
from aclarifai.testing import FakeClarifai

from .conftest import MODEL

CONCURRENCY = 32
BIG = 20_000


def question(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"question {i}"}]


class Inputs:
    """An async generator of ``(key, messages)`` inputs that counts what the consumer holds."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.pulled = 0
        self.received = 0
        self.peak_held = 0  # inputs pulled from the generator and not yet handed to the consumer

    async def __aiter__(self) -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
        for i in range(self.count):
            self.pulled += 1
            self.peak_held = max(self.peak_held, self.pulled - self.received)
            yield f"k{i}", question(i)


def answered_question(fake: FakeClarifai, item: BatchItem) -> str:
    """The question of the request the server answered with ``item``'s completion."""
    assert item.completion is not None and item.completion.id is not None
    seq = int(item.completion.id.rsplit("-", 1)[1])  # the fake numbers completions by arrival
    content: str = fake.requests[seq - 1].json["messages"][0]["content"]
    return content


def pump_workers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if "_Pump.work" in t.get_coro().__qualname__]


async def eventually(condition: Any, timeout: float) -> None:
    """Poll ``condition()`` until it holds ("ends, does not hang": ``timeout`` is generous)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition still false"
        await asyncio.sleep(0.01)


def script_uneven(fake: FakeClarifai, count: int) -> None:
    """Every 50th request answers 20 ms late, so later ones overtake it."""
    for start in range(0, count, 50):
        fake.add_text("slow", delay=0.02)
        fake.add_text("fast", times=min(49, count - start - 1))


@pytest.mark.parametrize("ordered", [False, True], ids=["unordered", "ordered"])
async def test_twenty_thousand_inputs_each_exactly_once_in_bounded_memory(
    fake: FakeClarifai, client: AsyncClarifai, ordered: bool
) -> None:
    script_uneven(fake, BIG)
    inputs = Inputs(BIG)
    keys: list[str] = []
    indices: list[int] = []
    async for item in abatch_stream(
        MODEL, inputs, max_concurrency=CONCURRENCY, ordered=ordered, client=client
    ):
        inputs.received += 1
        assert item.ok and item.latency >= 0 and item.model == MODEL
        assert answered_question(fake, item) == f"question {item.index}"  # its own answer
        keys.append(item.key)
        indices.append(item.index)
    assert sorted(indices) == list(range(BIG))  # all of them, each exactly once
    assert sorted(keys) == sorted(f"k{i}" for i in range(BIG))
    assert all(key == f"k{index}" for key, index in zip(keys, indices, strict=True))
    assert fake.request_count == BIG and 1 < fake.max_concurrency <= CONCURRENCY
    window = CONCURRENCY * (4 if ordered else 2)
    assert inputs.peak_held <= window  # bounded by the concurrency, not the 20,000 inputs
    if ordered:
        assert indices == list(range(BIG))
    else:
        assert indices != sorted(indices)  # the slow ones were overtaken and yielded late
    assert pump_workers() == []


async def test_cancelling_the_consumer_halfway_leaves_no_task_and_no_connection(
    fake: FakeClarifai,
) -> None:
    half = BIG // 2
    fake.add_text("fast", times=half)
    fake.add_text("stalled", delay=60, times=CONCURRENCY)
    inputs = Inputs(BIG)
    before = asyncio.all_tasks()
    client = AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
    received: list[BatchItem] = []

    async def consume() -> None:
        async for item in abatch_stream(MODEL, inputs, max_concurrency=CONCURRENCY, client=client):
            received.append(item)
            inputs.received += 1

    consumer = asyncio.ensure_future(consume())
    await eventually(lambda: fake.active_requests == CONCURRENCY and len(received) == half, 120)
    open_at_cancel = fake.open_connections
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert pump_workers() == []
    # The 32 requests in flight were abandoned: the server sees each of their connections go.
    await fake.wait_until(
        lambda: fake.active_requests == 0
        and fake.open_connections == open_at_cancel - CONCURRENCY, 10
    )
    assert fake.request_count == half + CONCURRENCY  # nothing started after the cancel
    assert inputs.pulled <= half + 2 * CONCURRENCY
    await client.aclose()
    await fake.wait_idle(10, connections=True)
    assert fake.open_connections == 0
    left = {t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()}
    assert [t.get_coro().__qualname__ for t in left if not t.done()] == []


async def test_leaving_the_loop_with_aclosing_cancels_the_requests_in_flight(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    fake.add_text("first")
    fake.add_text("stalled", delay=60, times=100)
    stream = abatch_stream(MODEL, [question(i) for i in range(100)], max_concurrency=4, client=client)
    async with contextlib.aclosing(stream):
        async for item in stream:
            await fake.wait_until(lambda: fake.active_requests == 4)  # the next one started
            assert item.content == "first"
            break
    assert pump_workers() == []
    await fake.wait_idle(5)
    assert fake.request_count == 5


async def test_a_sync_iterable_of_plain_messages_lists_is_keyed_by_index(
    client: AsyncClarifai,
) -> None:
    items = [item async for item in abatch_stream(
        MODEL, (question(i) for i in range(10)), max_concurrency=3, ordered=True, client=client
    )]
    assert [(item.index, item.key) for item in items] == [(i, i) for i in range(10)]
    assert all(f'"question {item.index}"' in (item.content or "") for item in items)
    assert total_usage(items).total_tokens == sum(item.usage.total_tokens for item in items if item.usage)


async def test_failures_and_unsendable_inputs_are_items_not_exceptions(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    fake.add_text("fine")
    fake.add_error(400)
    inputs: list[Any] = [question(0), ("bad", "not a list"), ("empty", []), question(3)]
    items = [i async for i in abatch_stream(MODEL, inputs, max_concurrency=1, client=client)]
    assert [item.ok for item in items] == [True, False, False, False]
    assert isinstance(items[1].error, TypeError) and items[1].key == "bad"
    assert isinstance(items[2].error, ValueError)
    assert isinstance(items[3].error, BadRequestError) and items[3].key == 3
    assert fake.request_count == 2  # the unsendable inputs never reached the server
    rows = [item.to_row() for item in items]
    assert rows[1]["error_type"] == "TypeError" and rows[1]["status_code"] is None
    assert rows[3]["error_type"] == "BadRequestError" and rows[3]["status_code"] == 400
    assert rows[3]["error_message"] == "fake error 400"
    assert rows[3]["request_id"] == "fake-req-000002"


async def test_an_exception_from_the_inputs_ends_the_stream_and_leaves_no_task(
    client: AsyncClarifai,
) -> None:
    async def broken() -> AsyncIterator[list[dict[str, str]]]:
        yield question(0)
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="the source broke"):
        async for _ in abatch_stream(MODEL, broken(), max_concurrency=4, client=client):
            pass
    assert pump_workers() == []


async def test_ordered_mode_holds_at_most_its_window_behind_a_stalled_head(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    fake.add_text("head", delay=1.0)
    inputs = Inputs(200)
    indices = []
    async for item in abatch_stream(MODEL, inputs, max_concurrency=4, ordered=True, client=client):
        inputs.received += 1
        indices.append(item.index)
    assert indices == list(range(200))
    assert inputs.peak_held == 16  # 4 x 4: the window filled while the first answer waited


async def test_a_limiter_is_awaited_before_each_request(client: AsyncClarifai) -> None:
    class Counting:
        calls = 0

        async def acquire(self) -> None:
            self.calls += 1
            await asyncio.sleep(0)

    limiter = Counting()
    items = [i async for i in abatch_stream(
        MODEL, [question(i) for i in range(7)], limiter=limiter, client=client
    )]
    assert len(items) == 7 and limiter.calls == 7


async def test_to_row_is_flat_and_serialisable(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.add_tool_calls(
        [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"}],
        usage={"prompt_tokens": 11, "completion_tokens": 7},
    )
    [item] = [i async for i in abatch_stream(MODEL, [("row-1", question(0))], client=client)]
    row = item.to_row()
    assert list(row) == list(ROW_COLUMNS)
    assert orjson.loads(orjson.dumps(row)) == row  # plain JSON values only
    assert row["key"] == "row-1" and row["index"] == 0 and row["error_type"] is None
    assert row["finish_reason"] == "tool_calls" and row["content"] is None
    [call] = orjson.loads(row["tool_calls"])
    assert call["function"]["name"] == "get_weather"
    assert orjson.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert (row["prompt_tokens"], row["completion_tokens"]) == (11, 7)
    assert row["model"] == MODEL and row["latency"] == item.latency > 0
    assert row["request_id"] == item.completion.id if item.completion else False


@pytest.mark.parametrize(
    ("model", "kwargs", "error"),
    [
        ("not a model", {}, ValueError),
        (MODEL, {"max_concurrency": 0}, ValueError),
        (MODEL, {"stream": True}, ValueError),
    ],
)
async def test_bad_arguments_raise_at_the_call(
    fake: FakeClarifai, client: AsyncClarifai, model: str, kwargs: dict[str, Any],
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        abatch_stream(model, [question(0)], client=client, **kwargs)
    assert fake.request_count == 0


def test_no_pat_raises_once_at_the_call() -> None:
    with pytest.raises(aclarifai.MissingAPIKeyError):
        abatch_stream(MODEL, [question(0)])
