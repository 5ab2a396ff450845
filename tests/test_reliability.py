"""Retries, backoff, timeouts, cancellation and connection hygiene, hostile input.

Everything runs against real loopback servers (FakeClarifai, or a small aiohttp app where a test
must pace the server itself). Retry waits go through ``aclarifai._retry.sleep``; the ``sleeps``
fixture replaces it, records the requested delays and returns at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gc
import math
import random
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

import aclarifai
from aclarifai import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncClarifai,
    ChatCompletion,
    ChunkAccumulator,
    CompletionRequest,
    CompletionStream,
    ConfigurationError,
    InternalServerError,
    RateLimitError,
    Timeout,
    _retry,
    errors,
)
from aclarifai import _http as http_module
from aclarifai.testing import FakeClarifai, make_chunk

from .conftest import MODEL

MESSAGES = [{"role": "user", "content": "hi"}]
CHAT_PATH = "/v2/ext/openai/v1/chat/completions"
DOCS = Path(__file__).parent.parent / "docs"



def make_client(fake: FakeClarifai, **options: Any) -> AsyncClarifai:
    return AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, **options)


async def collect(request: CompletionRequest | CompletionStream) -> list[str]:
    """The content pieces handed to the caller, in order."""
    pieces = []
    async for chunk in request:
        pieces.extend(choice.delta.content or "" for choice in chunk.choices)
    return pieces


def content(completion: Any) -> str | None:
    assert isinstance(completion, ChatCompletion)
    return completion.choices[0].message.content if completion.choices else None


def pool(client: AsyncClarifai) -> tuple[int, int]:
    """(connections in use, idle keep-alive connections) of the client's aiohttp connector."""
    session = client._session
    assert session is not None
    connector = session.connector
    assert isinstance(connector, aiohttp.TCPConnector)
    return len(connector._acquired), sum(len(conns) for conns in connector._conns.values())


async def settle(fake: FakeClarifai, client: AsyncClarifai) -> None:
    """Wait until the server has seen every connection the client dropped go away."""
    await fake.wait_idle()
    await fake.wait_until(lambda: fake.open_connections == pool(client)[1])
    assert pool(client)[0] == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- retries: how many, on what ----------------------------------------------------------------


async def test_default_is_two_retries(fake: FakeClarifai, sleeps: list[float]) -> None:
    fake.add_error(503, times=3)
    async with make_client(fake) as client:
        assert client.max_retries == 2
        with pytest.raises(InternalServerError):
            await client.acompletion(model=MODEL, messages=MESSAGES)
    assert fake.request_count == 3 and len(sleeps) == 2


async def test_max_retries_per_client_and_per_call(fake: FakeClarifai, sleeps: list[float]) -> None:
    async with make_client(fake, max_retries=0) as client:
        fake.add_error(503)
        with pytest.raises(InternalServerError):
            await client.acompletion(model=MODEL, messages=MESSAGES)
        assert fake.request_count == 1 and sleeps == []

        fake.add_error(503)
        with pytest.raises(InternalServerError):
            await collect(client.acompletion(model=MODEL, messages=MESSAGES))
        assert fake.request_count == 2 and sleeps == []

        fake.add_error(503, times=3)
        fake.add_text("third time lucky")
        completion = await client.acompletion(model=MODEL, messages=MESSAGES, max_retries=3)
        assert content(completion) == "third time lucky"
        assert fake.request_count == 6 and len(sleeps) == 3

    async with make_client(fake, max_retries=5) as client:
        fake.reset()
        fake.add_error(503)
        with pytest.raises(InternalServerError):
            await collect(client.acompletion(model=MODEL, messages=MESSAGES, max_retries=0))
        assert fake.request_count == 1


async def test_module_level_max_retries(fake: FakeClarifai, sleeps: list[float]) -> None:
    fake.add_error(503, times=2)
    with pytest.raises(InternalServerError):
        await aclarifai.acompletion(
            model=MODEL, messages=MESSAGES, api_key=fake.api_key, base_url=fake.base_url,
            max_retries=1,
        )
    assert fake.request_count == 2
    await aclarifai.aclose_default_clients()


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
async def test_retryable_statuses(
    fake: FakeClarifai, sleeps: list[float], status: int, stream: bool
) -> None:
    fake.add_error(status)
    fake.add_text("recovered")
    async with make_client(fake) as client:
        request = client.acompletion(model=MODEL, messages=MESSAGES)
        text = "".join(await collect(request)) if stream else content(await request)
    assert text == "recovered"
    assert fake.request_count == 2 and len(sleeps) == 1


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (422, errors.UnprocessableEntityError),
    ],
)
async def test_never_retried_statuses(
    fake: FakeClarifai, sleeps: list[float], status: int, cls: type[APIError], stream: bool
) -> None:
    # Not even when the server says "retry", or sends a retryable Clarifai code with it.
    fake.add_error(status, headers={"x-should-retry": "true"})
    fake.add_error(status, {"status": {"code": 10030, "description": "try again"}})
    async with make_client(fake) as client:
        request = client.acompletion(model=MODEL, messages=MESSAGES)
        with pytest.raises(cls):
            await (collect(request) if stream else request)
        request = client.acompletion(model=MODEL, messages=MESSAGES)
        with pytest.raises(APIStatusError) as info:
            await (collect(request) if stream else request)
        assert info.value.status_code == status and info.value.code == 10030
    assert fake.request_count == 2 and sleeps == []


@pytest.mark.parametrize("code", sorted(_retry.RETRYABLE_CODES))
async def test_retryable_clarifai_codes(fake: FakeClarifai, sleeps: list[float], code: int) -> None:
    async with make_client(fake) as client:
        # In a 200 answer (Clarifai's native status object) ...
        fake.add_response(200, {"status": {"code": code, "description": "not now"}})
        fake.add_text("non-stream ok")
        assert content(await client.acompletion(model=MODEL, messages=MESSAGES)) == "non-stream ok"
        # ... as the first event of a stream, before any output ...
        fake.add_chunks([{"code": code, "description": "busy", "details": "retry"}], done=False)
        fake.add_text("stream ok")
        assert "".join(await collect(client.acompletion(model=MODEL, messages=MESSAGES))) == (
            "stream ok"
        )
        # ... and with an HTTP status that would not be retried on its own.
        fake.add_error(412, {"status": {"code": code, "description": "wait"}})
        fake.add_text("412 ok")
        assert content(await client.acompletion(model=MODEL, messages=MESSAGES)) == "412 ok"
    assert fake.request_count == 6 and len(sleeps) == 3


@pytest.mark.parametrize("code", [21313, 21353, 11102])
async def test_other_clarifai_codes_are_not_retried(
    fake: FakeClarifai, sleeps: list[float], code: int
) -> None:
    fake.add_response(200, {"status": {"code": code, "description": "no"}})
    async with make_client(fake) as client:
        with pytest.raises(APIStatusError) as info:
            await client.acompletion(model=MODEL, messages=MESSAGES)
    assert info.value.code == code
    assert fake.request_count == 1 and sleeps == []


@pytest.mark.parametrize("stream", [False, True])
async def test_dropped_connection_is_retried(
    fake: FakeClarifai, sleeps: list[float], stream: bool
) -> None:
    fake.add_disconnect()
    fake.add_text("second try")
    async with make_client(fake) as client:
        request = client.acompletion(model=MODEL, messages=MESSAGES)
        text = "".join(await collect(request)) if stream else content(await request)
    assert text == "second try"
    assert fake.request_count == 2 and len(sleeps) == 1


async def test_refused_connection_is_retried_then_raised(sleeps: list[float]) -> None:
    async with AsyncClarifai(api_key="k", base_url=f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(APIConnectionError, match="could not reach") as info:
            await client.acompletion(model=MODEL, messages=MESSAGES)
        assert type(info.value) is APIConnectionError
        with pytest.raises(APIConnectionError):
            await collect(client.acompletion(model=MODEL, messages=MESSAGES))
    assert len(sleeps) == 4  # two retries per call


@pytest.mark.parametrize("stream", [False, True])
async def test_timeout_before_the_response_is_retried(
    fake: FakeClarifai, sleeps: list[float], stream: bool
) -> None:
    fake.add_text("too late", delay=10)
    fake.add_text("in time")
    async with make_client(fake, timeout=Timeout(read=1.0)) as client:
        request = client.acompletion(model=MODEL, messages=MESSAGES)
        text = "".join(await collect(request)) if stream else content(await request)
    assert text == "in time"
    assert fake.request_count == 2 and len(sleeps) == 1


async def test_mid_body_failure_of_a_non_stream_answer_is_retried(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    fake.add_text("cut short", disconnect_after=10)  # bytes of the JSON body
    fake.add_text("whole")
    async with make_client(fake) as client:
        assert content(await client.acompletion(model=MODEL, messages=MESSAGES)) == "whole"
    assert fake.request_count == 2


# -- retries: how long to wait -----------------------------------------------------------------


def test_should_retry_table() -> None:
    def status_error(status: int, code: int | None = None) -> APIError:
        return APIStatusError("x", status_code=status, code=code)

    assert _retry.should_retry(APIConnectionError("reset"))
    assert _retry.should_retry(APITimeoutError("slow"))
    for status in (408, 409, 429, 500, 503, 599):
        assert _retry.should_retry(status_error(status)), status
    for status in (400, 401, 403, 404, 422, 412, 418):
        assert not _retry.should_retry(status_error(status)), status
    for code in _retry.RETRYABLE_CODES:
        assert _retry.should_retry(status_error(200, code))
        assert not _retry.should_retry(status_error(400, code))
    assert not _retry.should_retry(APIResponseValidationError("bad JSON", status_code=200))
    # An error event inside a stream carries the status it reports.
    assert _retry.should_retry(errors.StreamError("overloaded", status_code=503))
    assert not _retry.should_retry(errors.StreamError("bad", status_code=400))
    # The server's own hint wins, except over the never-retried statuses.
    assert not _retry.should_retry(status_error(503), {"x-should-retry": "false"})
    assert _retry.should_retry(status_error(412), {"x-should-retry": "true"})
    assert not _retry.should_retry(status_error(401), {"x-should-retry": "true"})
    assert _retry.should_retry(status_error(503), {"x-should-retry": "maybe"})


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    rng = random.Random(7)
    for attempt, base in enumerate([0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]):
        samples = [_retry.backoff_delay(attempt, rng) for _ in range(200)]
        assert all(0.75 * base <= s <= base for s in samples), attempt
        assert len(set(samples)) > 100  # jittered, not a fixed value
    assert _retry.backoff_delay(10_000, rng) <= _retry.MAX_DELAY


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert _retry.retry_after({"retry-after": "2"}) == 2.0
    assert _retry.retry_after({"retry-after": "1.5"}) == 1.5
    assert _retry.retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert _retry.retry_after({"retry-after-ms": "soon", "retry-after": "3"}) == 3.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert _retry.retry_after({"retry-after": date}, now=now) == 30.0
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert _retry.retry_after({"retry-after": past}, now=now) == 0.0
    naive = email.utils.formatdate(now + 5).replace("+0000", "-0000")
    assert _retry.retry_after({"retry-after": naive}, now=now) == 5.0
    for junk in ("", "soon", "nan", "Mon, 99 Foo"):
        assert _retry.retry_after({"retry-after": junk}) is None
    assert _retry.retry_after({"retry-after": "-4"}) == 0.0
    assert _retry.retry_after(None) is None
    assert _retry.retry_delay(0, {"retry-after": "61"}) is None  # over the cap: no retry
    assert _retry.retry_delay(0, {"retry-after": "inf"}) is None
    assert _retry.retry_delay(0, {"retry-after": "60"}) == 60.0


async def test_backoff_delays_between_attempts(fake: FakeClarifai, sleeps: list[float]) -> None:
    fake.add_error(500, times=4)
    fake.add_text("finally")
    async with make_client(fake, max_retries=4) as client:
        assert content(await client.acompletion(model=MODEL, messages=MESSAGES)) == "finally"
    assert len(sleeps) == 4
    for delay, base in zip(sleeps, [0.5, 1.0, 2.0, 4.0], strict=True):
        assert 0.75 * base <= delay <= base


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"Retry-After": "0"}, 0.0),
        ({"retry-after-ms": "150"}, 0.15),
        ({"retry-after-ms": "40", "Retry-After": "7"}, 0.04),
    ],
)
async def test_retry_after_is_honoured(
    fake: FakeClarifai, sleeps: list[float], headers: dict[str, str], expected: float
) -> None:
    fake.add_error(429, headers=headers)
    fake.add_text("after the wait")
    async with make_client(fake) as client:
        assert content(await client.acompletion(model=MODEL, messages=MESSAGES)) == "after the wait"
    assert sleeps == [pytest.approx(expected)]


async def test_retry_after_as_an_http_date(fake: FakeClarifai, sleeps: list[float]) -> None:
    fake.add_error(429, headers={"Retry-After": email.utils.formatdate(time.time() + 20, usegmt=True)})
    fake.add_text("ok")
    async with make_client(fake) as client:
        await client.acompletion(model=MODEL, messages=MESSAGES)
    # The date has whole seconds, and some time passes before it is read.
    assert len(sleeps) == 1 and 15 < sleeps[0] <= 20


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "3600"}, {"retry-after-ms": "61000"}, {"Retry-After": "Fri, 31 Dec 2100 23:59:59 GMT"}],
)
async def test_retry_after_over_the_cap_fails_at_once(
    fake: FakeClarifai, sleeps: list[float], headers: dict[str, str], stream: bool
) -> None:
    fake.add_error(429, {"status": {"code": 11005, "description": "throttled"}}, headers=headers)
    async with make_client(fake) as client:
        request = client.acompletion(model=MODEL, messages=MESSAGES)
        with pytest.raises(RateLimitError) as info:
            await (collect(request) if stream else request)
    assert info.value.code == 11005 and info.value.headers is not None
    assert fake.request_count == 1 and sleeps == []


async def test_tiny_retry_after_really_sleeps(fake: FakeClarifai) -> None:
    """The unpatched path: a real (10 ms) wait, then the retry."""
    fake.add_error(429, headers={"retry-after-ms": "10"})
    fake.add_text("slept")
    async with make_client(fake) as client:
        assert content(await client.acompletion(model=MODEL, messages=MESSAGES)) == "slept"
    assert fake.request_count == 2


async def test_x_should_retry(fake: FakeClarifai, sleeps: list[float]) -> None:
    async with make_client(fake) as client:
        fake.add_error(503, headers={"x-should-retry": "false"})
        with pytest.raises(InternalServerError):
            await client.acompletion(model=MODEL, messages=MESSAGES)
        assert fake.request_count == 1
        fake.add_error(412, headers={"x-should-retry": "true"})
        fake.add_text("hinted")
        assert content(await client.acompletion(model=MODEL, messages=MESSAGES)) == "hinted"
        assert fake.request_count == 3
    assert len(sleeps) == 1


# -- retries and streams: before the first chunk only --------------------------------------------


async def test_disconnect_after_headers_before_the_first_event_is_retried(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    prelude = b": warming up\n\n"
    fake.add_sse(prelude + b'data: {"choices": [{"index": 0, "delta": {"content": "lost"}}]}\n\n',
                 disconnect_after=len(prelude))
    fake.add_text("a clean answer")
    async with make_client(fake) as client:
        pieces = await collect(client.acompletion(model=MODEL, messages=MESSAGES))
    assert "".join(pieces) == "a clean answer"
    assert pieces == ["a", " clean", " answer", ""]  # each once, nothing from the first attempt
    assert fake.request_count == 2 and len(sleeps) == 1


async def test_disconnect_after_three_chunks_is_not_retried(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    fake.add_text("one two three four five", disconnect_after=3)
    fake.add_text("must not be used")
    pieces: list[str] = []
    async with make_client(fake) as client:
        with pytest.raises(APIConnectionError) as info:
            async for chunk in client.acompletion(model=MODEL, messages=MESSAGES):
                pieces.append(chunk.choices[0].delta.content or "")
    assert pieces == ["one", " two", " three"]
    assert content(info.value.partial) == "one two three"
    assert info.value.request_id == "fake-req-000001"
    assert fake.request_count == 1 and sleeps == []


async def test_a_stream_read_whole_is_retried_until_it_is_handed_out(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    """get_final_completion() hands out no chunk, so a broken first attempt is simply redone."""
    fake.add_text("one two three four five", disconnect_after=3)
    fake.add_text("complete answer")
    async with make_client(fake) as client:
        stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        completion = await stream.get_final_completion()
    assert content(completion) == "complete answer"
    assert fake.request_count == 2


async def test_events_are_not_retried_after_the_first_event(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    fake.add_text("alpha beta gamma", disconnect_after=2)
    seen = []
    async with make_client(fake) as client:
        async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True) as stream:
            with pytest.raises(APIConnectionError) as info:
                async for event in stream.events():
                    seen.append(type(event).__name__)
    assert "ContentDelta" in seen
    assert content(info.value.partial) == "alpha beta"
    assert fake.request_count == 1


# -- timeouts ----------------------------------------------------------------------------------


def test_timeout_values() -> None:
    assert Timeout() == Timeout(connect=5.0, read=120.0, total=600.0)
    assert Timeout.coerce(None) == Timeout()
    assert Timeout.coerce(3) == Timeout(connect=3.0, read=3.0, total=3.0)
    custom = Timeout(connect=1, read=None, total=None)
    assert Timeout.coerce(custom) is custom
    for bad in (0, -1, "5", True, math.nan, math.inf):
        with pytest.raises(ConfigurationError):
            Timeout(read=bad)  # type: ignore[arg-type]
    for bad in (0, -2, "5", False, math.nan):
        with pytest.raises(ConfigurationError):
            Timeout.coerce(bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AsyncClarifai(api_key="k", timeout=-1)
    client = AsyncClarifai(api_key="k", timeout=7)
    assert client.timeout == Timeout(7, 7, 7)
    assert AsyncClarifai(api_key="k").timeout == Timeout()


async def test_a_long_stream_is_fine_while_bytes_keep_coming(fake: FakeClarifai) -> None:
    words = " ".join(f"w{i}" for i in range(24))
    # 26 events, 50 ms apart: about 1.25 s in all, more than twice the read timeout.
    fake.add_text(words, chunk_delay=0.05)
    async with make_client(fake, timeout=Timeout(read=0.5), max_retries=0) as client:
        pieces = await collect(client.acompletion(model=MODEL, messages=MESSAGES))
    assert "".join(pieces) == words


@pytest.mark.parametrize("per_call", [False, True])
async def test_a_stalled_stream_times_out_with_its_partial(
    fake: FakeClarifai, sleeps: list[float], per_call: bool
) -> None:
    fake.add_text("first second third", stall_after=2)
    timeout = Timeout(read=0.5)
    pieces: list[str] = []
    async with make_client(fake, timeout=None if per_call else timeout) as client:
        request = client.acompletion(
            model=MODEL, messages=MESSAGES, timeout=timeout if per_call else None
        )
        with pytest.raises(APITimeoutError, match="read timeout") as info:
            async for chunk in request:
                pieces.append(chunk.choices[0].delta.content or "")
        assert pieces == ["first", " second"]
        assert content(info.value.partial) == "first second"
        assert fake.request_count == 1 and sleeps == []  # output was handed out: no retry
        await settle(fake, client)
    assert fake.streams_aborted == 1


async def test_a_slow_non_stream_answer_hits_the_total_timeout(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    fake.add_text("late", delay=5)
    async with make_client(fake, max_retries=0) as client:
        with pytest.raises(APITimeoutError, match="total timeout 0.2s"):
            await client.acompletion(
                model=MODEL, messages=MESSAGES, timeout=Timeout(total=0.2, read=None)
            )
        # The seconds form sets every phase.
        fake.add_text("late", delay=5)
        with pytest.raises(APITimeoutError):
            await client.acompletion(model=MODEL, messages=MESSAGES, timeout=0.2)
        await settle(fake, client)


async def test_a_slow_non_stream_body_hits_the_total_timeout(fake: FakeClarifai) -> None:
    # Headers at once, then the body trickles (a byte per 50 ms): the total bounds it all.
    fake.add_sse(b'{"choices": []}' * 4, chunk_size=1, chunk_delay=0.05)
    async with make_client(fake, max_retries=0, timeout=Timeout(total=0.3)) as client:
        with pytest.raises(APITimeoutError, match="while reading the response") as info:
            await client.acompletion(model=MODEL, messages=MESSAGES)
        assert "received" in str(info.value)


class _Silent(asyncio.Protocol):
    """Accepts TCP connections and never says a word (so a TLS handshake never completes)."""

    transports: list[asyncio.BaseTransport] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transports.append(transport)


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Silent, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for transport in _Silent.transports:
            transport.close()
        _Silent.transports.clear()
        await server.wait_closed()


async def test_connect_timeout(sleeps: list[float]) -> None:
    """The TCP connect succeeds but the TLS handshake never ends: the connect timeout fires.

    All on loopback: a server that accepts and stays silent, reached over https.
    """
    async with silent_server() as port, AsyncClarifai(
        api_key="k", base_url=f"https://127.0.0.1:{port}", timeout=Timeout(connect=0.2)
    ) as client:
        with pytest.raises(APITimeoutError, match=r"connecting to .*connect timeout 0.2s"):
            await client.acompletion(model=MODEL, messages=MESSAGES)
        with pytest.raises(APITimeoutError, match="connect timeout"):
            await collect(client.acompletion(model=MODEL, messages=MESSAGES, max_retries=0))
    assert len(sleeps) == 2  # connect timeouts are retried


async def test_connect_timeout_covers_waiting_for_a_pooled_connection(
    fake: FakeClarifai,
) -> None:
    fake.add_text("holds the only connection", stall_after=1)
    async with make_client(
        fake, max_connections=1, max_retries=0, timeout=Timeout(connect=0.2, read=10)
    ) as client:
        stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        await stream.__anext__()
        with pytest.raises(APITimeoutError, match="connect timeout"):
            await client.acompletion(model=MODEL, messages=MESSAGES)
        await stream.aclose()
        assert fake.request_count == 1


# -- cancellation and connection hygiene ---------------------------------------------------------

WORDS = " ".join(f"w{i}" for i in range(20))  # 20 content events, then finish, usage, [DONE]


async def test_break_out_of_async_for_releases_the_connection(fake: FakeClarifai) -> None:
    fake.add_text(WORDS, chunk_delay=0.01)
    async with make_client(fake) as client:
        async for _chunk in client.acompletion(model=MODEL, messages=MESSAGES):
            break
        await fake.wait_until(lambda: fake.streams_aborted == 1)
        await settle(fake, client)


async def test_aclose_mid_stream(fake: FakeClarifai) -> None:
    fake.add_text(WORDS, chunk_delay=0.01)
    async with make_client(fake) as client:
        stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        first = await stream.__anext__()
        assert first.choices[0].delta.content == "w0"
        await stream.aclose()
        await stream.aclose()  # idempotent
        assert [c async for c in stream] == []
        await fake.wait_until(lambda: fake.streams_aborted == 1)
        await settle(fake, client)


async def test_leaving_async_with_mid_stream(fake: FakeClarifai) -> None:
    fake.add_text(WORDS, chunk_delay=0.01)
    async with make_client(fake) as client:
        async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True) as stream:
            await stream.__anext__()
        await fake.wait_until(lambda: fake.streams_aborted == 1)
        await settle(fake, client)


async def test_task_cancellation_mid_stream(fake: FakeClarifai) -> None:
    fake.add_text(WORDS, chunk_delay=0.01)
    got_one = asyncio.Event()
    async with make_client(fake) as client:
        stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)

        async def consume() -> None:
            async for _chunk in stream:
                got_one.set()

        task = asyncio.create_task(consume())
        await got_one.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Resuming a cancelled stream is an error that keeps what had arrived, not a silent end.
        with pytest.raises(APIConnectionError, match="cancelled") as info:
            await stream.__anext__()
        assert (content(info.value.partial) or "").startswith("w0")
        await fake.wait_until(lambda: fake.streams_aborted == 1)
        await settle(fake, client)


async def test_cancellation_while_waiting_for_headers(fake: FakeClarifai) -> None:
    fake.add_text("slow to start", delay=10)
    async with make_client(fake) as client:
        task = asyncio.create_task(collect(client.acompletion(model=MODEL, messages=MESSAGES)))
        await fake.wait_until(lambda: fake.active_requests == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await settle(fake, client)


@pytest.mark.parametrize("stream", [False, True])
async def test_cancellation_during_the_retry_wait(fake: FakeClarifai, stream: bool) -> None:
    fake.add_error(503, headers={"Retry-After": "30"})  # a real 30 s wait, cut short
    async with make_client(fake) as client:
        request = client.acompletion(model=MODEL, messages=MESSAGES)
        task = asyncio.create_task(collect(request) if stream else request._resolve())
        await fake.wait_until(lambda: fake.request_count == 1 and fake.active_requests == 0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert fake.request_count == 1
        await settle(fake, client)


async def test_an_abandoned_stream_is_closed_by_garbage_collection(fake: FakeClarifai) -> None:
    fake.add_text(WORDS, chunk_delay=0.01)
    async with make_client(fake) as client:
        stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        await stream.__anext__()
        del stream
        gc.collect()
        await fake.wait_until(lambda: fake.streams_aborted == 1)
        await settle(fake, client)


async def test_an_abandoned_events_iterator_is_closed(fake: FakeClarifai) -> None:
    fake.add_text(WORDS, chunk_delay=0.01)
    async with make_client(fake) as client:
        stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        events = stream.events()
        await events.__anext__()
        del events  # the loop's async-generator hook runs its cleanup
        gc.collect()
        await fake.wait_until(lambda: fake.streams_aborted == 1)
        await settle(fake, client)


async def test_aclose_from_another_task_stops_the_reader_without_a_retry(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    fake.add_text(WORDS, stall_after=1)
    fake.add_text("must not be requested")
    async with make_client(fake) as client:
        stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        reader = asyncio.create_task(stream.get_final_completion())
        await fake.wait_until(lambda: fake.active_requests == 1)
        await asyncio.sleep(0.05)  # let the reader block on the stalled body
        await stream.aclose()
        completion = await asyncio.wait_for(reader, 5)
        assert isinstance(completion, ChatCompletion)
        assert fake.request_count == 1 and sleeps == []
        await settle(fake, client)


async def test_a_completed_stream_returns_its_connection_to_the_pool(fake: FakeClarifai) -> None:
    async with make_client(fake) as client:
        for _ in range(5):
            fake.add_text("reuse me")
            assert "".join(await collect(client.acompletion(model=MODEL, messages=MESSAGES)))
        await fake.wait_idle()
        assert pool(client) == (0, 1)
    assert fake.connections_opened == 1 and fake.streams_completed == 5


async def test_a_thousand_streams_cancelled_at_random_points(fake: FakeClarifai) -> None:
    """Every way of leaving a stream early, at random points of the body, 1,000 times.

    Each reply sends 19 of its 23 events and then stalls, so no stream can end on its own: the
    server counts every stream the client left as aborted.
    """
    rng = random.Random(5150)
    fake.add_text(WORDS, chunk_delay=0.001, stall_after=19, times=1000)
    plan = [(rng.choice(_LEAVERS), rng.randint(1, 18)) for _ in range(1000)]
    limit = asyncio.Semaphore(50)
    async with make_client(fake, max_retries=0) as client:

        async def run(leave: _Leaver, after: int) -> None:
            async with limit:
                await leave(client, after)

        await asyncio.wait_for(asyncio.gather(*(run(leave, k) for leave, k in plan)), 120)
        await fake.wait_idle()
        assert pool(client) == (0, 0)  # every connection was dropped mid-body
        await fake.wait_until(lambda: fake.open_connections == 0)

        early = sum(1 for leave, _ in plan if leave is _cancel_before_the_body)
        mid = len(plan) - early
        assert fake.streams_completed == 0
        assert mid <= fake.streams_aborted <= mid + early
        assert fake.connections_closed == fake.connections_opened

        # The pool still works, and keeps what it may keep.
        fake.reset()
        for _ in range(3):
            fake.add_text("after the storm")
            assert "".join(await collect(client.acompletion(model=MODEL, messages=MESSAGES)))
        await settle(fake, client)
        assert pool(client) == (0, 1) and fake.open_connections == 1

    leftover = [
        t for t in asyncio.all_tasks()
        if t is not asyncio.current_task() and "RequestHandler" not in t.get_coro().__qualname__
    ]
    assert leftover == []


_Leaver = Callable[[AsyncClarifai, int], Awaitable[None]]


async def _break(client: AsyncClarifai, after: int) -> None:
    seen = 0
    async for _chunk in client.acompletion(model=MODEL, messages=MESSAGES):
        seen += 1
        if seen == after:
            break


async def _aclose(client: AsyncClarifai, after: int) -> None:
    stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
    for _ in range(after):
        await stream.__anext__()
    await stream.aclose()


async def _leave_async_with(client: AsyncClarifai, after: int) -> None:
    async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True) as stream:
        for _ in range(after):
            await stream.__anext__()


async def _cancel_task(client: AsyncClarifai, after: int) -> None:
    reached = asyncio.Event()

    async def consume() -> None:
        seen = 0
        async for _chunk in client.acompletion(model=MODEL, messages=MESSAGES):
            seen += 1
            if seen == after:
                reached.set()

    task = asyncio.create_task(consume())
    await reached.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _drop_reference(client: AsyncClarifai, after: int) -> None:
    stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
    for _ in range(after):
        await stream.__anext__()
    del stream


async def _cancel_before_the_body(client: AsyncClarifai, after: int) -> None:
    task = asyncio.create_task(collect(client.acompletion(model=MODEL, messages=MESSAGES)))
    for _ in range(after % 4):
        await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


_LEAVERS: list[_Leaver] = [
    _break, _aclose, _leave_async_with, _cancel_task, _drop_reference, _cancel_before_the_body,
]


# -- hostile and broken input --------------------------------------------------------------------

GOOD = b'data: {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": null}]}\n\n'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (GOOD + b'data: {"choices": [oops\n\n', r"malformed JSON in stream event: .*oops"),
        # The body stops inside an event: a cut, not bad data (StreamConnectionError).
        (GOOD + b'data: {"choices": [{"ind', r"^the stream ended after 1 chunk in the middle of"),
        (GOOD + b"data: [1, 2]\n\n", r"not a JSON object: .*\[1, 2\]"),
        (GOOD + b'data: "just text"\n\n', r"not a JSON object"),
        (GOOD + b"event: error\ndata: <html>upstream died</html>\n\n", r"upstream died"),
    ],
    ids=["malformed", "truncated-event", "array", "string", "error-event-not-json"],
)
async def test_broken_events_give_a_typed_error_with_partial(
    fake: FakeClarifai, body: bytes, message: str
) -> None:
    fake.add_sse(body)
    pieces: list[str] = []
    async with make_client(fake) as client:
        with pytest.raises(APIError, match=message) as info:
            async for chunk in client.acompletion(model=MODEL, messages=MESSAGES):
                pieces.append(chunk.choices[0].delta.content or "")
    assert isinstance(info.value, aclarifai.ClarifaiError)
    assert pieces == ["ok"] and content(info.value.partial) == "ok"
    assert info.value.request_id == "fake-req-000001"
    assert fake.request_count == 1  # output was handed out, and bad data is not retried


async def test_an_unexpected_exception_while_processing_becomes_a_typed_error(
    fake: FakeClarifai, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a hostile chunk makes the accumulator raise, the caller gets a ClarifaiError."""
    feed = ChunkAccumulator.feed

    def fragile_feed(self: ChunkAccumulator, chunk: dict[str, Any], *args: Any) -> Any:
        if chunk.get("id") == "hostile":
            raise KeyError("index")
        return feed(self, chunk, *args)

    monkeypatch.setattr(ChunkAccumulator, "feed", fragile_feed)
    fake.add_chunks([make_chunk({"content": "ok"}), make_chunk({"content": "!"}, id="hostile")])
    pieces: list[str] = []
    async with make_client(fake) as client:
        with pytest.raises(
            APIResponseValidationError, match="could not process the stream: KeyError"
        ) as info:
            async for chunk in client.acompletion(model=MODEL, messages=MESSAGES):
                pieces.append(chunk.choices[0].delta.content or "")
        assert isinstance(info.value.__cause__, KeyError)
        assert pieces == ["ok"] and content(info.value.partial) == "ok"
        await settle(fake, client)
    assert fake.request_count == 1


@contextlib.asynccontextmanager
async def gated_stream(first: bytes, rest: bytes) -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A loopback endpoint that sends ``first``, waits for the gate, then sends ``rest``.

    The gate makes "the caller had the first chunk before the bad bytes came" certain.
    """
    gate = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(first)
        await gate.wait()
        with contextlib.suppress(ConnectionError):  # the client may be gone already
            await response.write(rest)
            await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post(CHAT_PATH, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", gate
    finally:
        gate.set()
        await runner.cleanup()


@pytest.mark.parametrize(
    ("rest", "message"),
    [
        (b"data: " + b"x" * 5000 + b"\n\n", r"exceeds the limit of 1024 bytes \(max_line_size\)"),
        (b"data: " + b"y" * 5000, r"exceeds the limit of 1024 bytes"),  # never terminated
    ],
    ids=["long-line", "long-unterminated-line"],
)
async def test_undecodable_stream_bytes(rest: bytes, message: str) -> None:
    async with gated_stream(GOOD, rest) as (base_url, gate), AsyncClarifai(
        api_key="k", base_url=base_url, max_line_size=1024
    ) as client:
        pieces: list[str] = []
        with pytest.raises(APIResponseValidationError, match=message) as info:
            async for chunk in client.acompletion(model=MODEL, messages=MESSAGES):
                pieces.append(chunk.choices[0].delta.content or "")
                gate.set()
        assert isinstance(info.value, errors.StreamValidationError)
        assert pieces == ["ok"] and content(info.value.partial) == "ok"
        assert len(str(info.value)) < 400  # an excerpt, not the whole line


async def test_a_stream_cut_mid_event_keeps_its_partial(fake: FakeClarifai) -> None:
    fake.add_sse(GOOD + b'data: {"choices": [{"index": 0, "delta": {"content": " mo',
                 disconnect_after=len(GOOD) + 20)
    pieces: list[str] = []
    async with make_client(fake) as client:
        with pytest.raises(
            errors.StreamConnectionError,
            match=r"^the connection closed after 1 chunk, before the stream was complete",
        ) as info:
            async for chunk in client.acompletion(model=MODEL, messages=MESSAGES):
                pieces.append(chunk.choices[0].delta.content or "")
    assert pieces == ["ok"] and content(info.value.partial) == "ok"


@pytest.mark.parametrize("stream", [False, True])
async def test_html_error_page_from_a_proxy(
    fake: FakeClarifai, sleeps: list[float], stream: bool
) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>" + (
        "<p>nginx</p>" * 200
    ) + "</body></html>"
    fake.add_error(502, page, content_type="text/html", times=3)
    async with make_client(fake) as client:
        request = client.acompletion(model=MODEL, messages=MESSAGES)
        with pytest.raises(InternalServerError, match="502 Bad Gateway") as info:
            await (collect(request) if stream else request)
    error = info.value
    assert error.status_code == 502 and error.request_id == "fake-req-000003"
    assert isinstance(error.body, str) and len(error.body) < 400  # an excerpt
    assert fake.request_count == 3 and len(sleeps) == 2  # a 502 is retried


@pytest.mark.parametrize(
    ("stream", "reply", "cls", "message"),
    [
        (False, {"body": "<html>hello</html>", "content_type": "text/html"},
         APIResponseValidationError, r"not JSON \(text/html\): <html>hello</html>"),
        (True, {"body": "<html>hello</html>", "content_type": "text/html"},
         APIResponseValidationError, r"expected an event stream, got 'text/html': <html>hello"),
        (False, {}, APIResponseValidationError, r"not JSON .*\(empty body\)"),
        (True, {}, APIResponseValidationError, r"expected an event stream.*\(empty body\)"),
        (False, {"body": {"unexpected": True}}, APIResponseValidationError,
         r"not a chat completion: .*unexpected"),
        (False, {"body": [1, 2, 3]}, APIResponseValidationError, r"not a chat completion"),
        (True, {"body": {"status": {"code": 11102, "description": "invalid request"}}},
         errors.BadRequestError, "invalid request"),
        (True, {"body": {"error": {"message": "quota gone", "code": 11006}}},
         RateLimitError, "quota gone"),
        (True, {"body": b'{"trunc', "content_type": "application/json"},
         APIResponseValidationError, r"expected an event stream.*\{\"trunc"),
    ],
    ids=["html-200", "html-200-stream", "empty", "empty-stream", "json-not-completion",
         "json-list", "json-error-on-stream", "openai-error-on-stream", "broken-json-on-stream"],
)
async def test_odd_200_answers(
    fake: FakeClarifai, stream: bool, reply: dict[str, Any], cls: type[APIError], message: str
) -> None:
    fake.add_response(200, **reply)
    async with make_client(fake, max_retries=0) as client:
        request = client.acompletion(model=MODEL, messages=MESSAGES)
        with pytest.raises(cls, match=message) as info:
            await (collect(request) if stream else request)
    assert info.value.request_id == "fake-req-000001"


async def test_an_empty_event_stream(fake: FakeClarifai, sleeps: list[float]) -> None:
    """A 200 event stream that ends before any event is cut short: retried, then raised."""
    fake.add_sse(b": nothing but a comment\n\n")
    fake.add_sse(b"")
    async with make_client(fake, max_retries=0) as client:
        for _ in range(2):
            with pytest.raises(APIConnectionError, match="without sending any event") as info:
                await collect(client.acompletion(model=MODEL, messages=MESSAGES))
            assert not isinstance(info.value, errors.StreamError)  # nothing had arrived
    fake.add_sse(b"", times=2)
    fake.add_text("now whole")
    async with make_client(fake) as client:
        assert "".join(await collect(client.acompletion(model=MODEL, messages=MESSAGES))) == (
            "now whole"
        )
    assert len(sleeps) == 2


async def test_a_truncated_non_stream_body(fake: FakeClarifai) -> None:
    fake.add_text("a long enough answer", disconnect_after=25)
    async with make_client(fake, max_retries=0) as client:
        with pytest.raises(APIConnectionError, match=r"received 25 bytes: \{") as info:
            await client.acompletion(model=MODEL, messages=MESSAGES)
    assert isinstance(info.value.body, str) and len(info.value.body) == 25


async def test_an_oversized_non_stream_body(
    fake: FakeClarifai, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_module, "_MAX_BODY", 1000)
    fake.add_text("word " * 1000)
    async with make_client(fake, max_retries=0) as client:
        with pytest.raises(APIResponseValidationError, match="larger than 1000 bytes"):
            await client.acompletion(model=MODEL, messages=MESSAGES)
        await settle(fake, client)


def test_client_limits_are_checked() -> None:
    for name in ("max_line_size", "max_connections", "max_retries"):
        for bad in (-1, 1.5, "3", True):
            with pytest.raises(ConfigurationError, match=name):
                AsyncClarifai(api_key="k", **{name: bad})
    with pytest.raises(ConfigurationError, match="max_line_size"):
        AsyncClarifai(api_key="k", max_line_size=0)


async def test_ids_retries_comments_and_unknown_events_are_ignored(fake: FakeClarifai) -> None:
    noise = (
        b": keep-alive\n\n"
        b"id: 42\n\n"
        b"retry: 3000\n\n"
        b":\n\n"
        b"event: ping\ndata: {}\n\n"
        b"data:\n\n"
    )
    chunk = make_chunk({"role": "assistant", "content": "signal"})
    fake.add_sse(noise + b"data: " + orjson.dumps(chunk) + b"\n\n" + noise + b"data: [DONE]\n\n")
    async with make_client(fake, max_retries=0) as client:
        assert await collect(client.acompletion(model=MODEL, messages=MESSAGES)) == ["signal"]


async def test_a_body_ending_without_done_is_accepted(fake: FakeClarifai) -> None:
    fake.add_chunks([make_chunk({"content": "no done"}, finish_reason="stop")], done=False)
    async with make_client(fake, max_retries=0) as client:
        assert await collect(client.acompletion(model=MODEL, messages=MESSAGES)) == ["no done"]


# -- docs ----------------------------------------------------------------------------------------


# (tests/test_docs.py runs every python block of docs/errors.md)


def test_errors_doc_tree_is_the_modules() -> None:
    tree = re.search(r"```\n(ClarifaiError\n.*?)```", (DOCS / "errors.md").read_text(), re.S)
    assert tree is not None and errors.__doc__ is not None
    assert tree.group(1) in errors.__doc__
