"""aclarifai.web: the SSE message shapes, errors, keep-alives, disconnects and the shared pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from aclarifai import AsyncClarifai, Usage, events
from aclarifai import web as relay
from aclarifai.agent import Agent, RunFinished, ToolResult, TurnFinished
from aclarifai.errors import AuthenticationError, RateLimitError
from aclarifai.sse import SSEDecoder
from aclarifai.testing import FakeClarifai, make_chunk
from aclarifai.tools import tool
from aclarifai.types import ToolCall

from .conftest import MODEL

HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture(autouse=True)
def no_logged_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail on anything asyncio or aiohttp log at ERROR (handler crashes, unclosed sessions)."""
    with caplog.at_level(logging.ERROR):
        yield
    bad = [r for r in caplog.records if r.name.startswith(("asyncio", "aiohttp"))]
    assert not bad, [r.getMessage() for r in bad]
    assert not relay._background, "a relay reader outlived its test"


# -- helpers ------------------------------------------------------------------------------------


def parse(body: bytes) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    return [orjson.loads(e.data) for e in decoder.feed(body) + decoder.flush()]


async def collect(source: Any, **options: Any) -> list[dict[str, Any]]:
    return parse(b"".join([data async for data in relay.sse_stream(source, **options)]))


def call(call_id: str | None, name: str, arguments: str = "{}") -> ToolCall:
    return ToolCall({"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}})


@contextlib.asynccontextmanager
async def serve(
    handler: Callable[[web.Request], Any], *, handler_cancellation: bool = False
) -> AsyncIterator[str]:
    """An aiohttp app on a free loopback port with ``POST /chat``; yields its URL."""
    app = web.Application()
    app.router.add_post("/chat", handler)
    runner = web.AppRunner(app, handler_cancellation=handler_cancellation, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}/chat"
    finally:
        await runner.cleanup()


async def read_until(response: aiohttp.ClientResponse, wanted: str) -> list[dict[str, Any]]:
    """Read messages (as a browser would) until one of type ``wanted`` arrives."""
    decoder = SSEDecoder()
    seen: list[dict[str, Any]] = []
    async for data in response.content.iter_any():
        for event in decoder.feed(data):
            seen.append(orjson.loads(event.data))
            if seen[-1]["type"] == wanted:
                return seen
    raise AssertionError(f"the stream ended without {wanted!r}: {seen}")


# -- the encoder, without I/O ---------------------------------------------------------------------


def test_stream_events_become_the_documented_messages() -> None:
    encoder = relay.EventEncoder()
    done_call = call("call_1", "get_weather", '{"location": "Paris"}')
    stream = [
        events.ReasoningDelta(0, "Let me see."),
        events.ContentDelta(0, "Hel"),
        events.ContentDelta(1, "other choice"),
        events.ToolCallStarted(0, 0, "call_1", "get_weather"),
        events.ToolCallArgumentsDelta(0, 0, '{"location": "Pa', arguments_so_far='{"location": "Pa',
                                      parsed_so_far={}),
        events.ToolCallArgumentsDelta(0, 0, 'ris"}', arguments_so_far='{"location": "Paris"}',
                                      parsed_so_far={"location": "Paris"}),
        events.ToolCallDone(0, 0, done_call),
        events.ContentDone(0, "Hel"),
        events.UsageUpdated(Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)),
        events.Finished(0, "tool_calls"),
    ]
    messages = [m for m in map(encoder.encode, stream) if m is not None]
    assert messages == [
        {"type": "reasoning.delta", "text": "Let me see."},
        {"type": "text.delta", "text": "Hel"},
        {"type": "tool_call.started", "key": 0, "index": 0, "id": "call_1", "name": "get_weather"},
        {"type": "tool_call.arguments.delta", "key": 0, "index": 0, "text": '{"location": "Pa',
         "parsed": {}},
        {"type": "tool_call.arguments.delta", "key": 0, "index": 0, "text": 'ris"}',
         "parsed": {"location": "Paris"}},
        {"type": "tool_call.done", "key": 0, "index": 0, "id": "call_1", "name": "get_weather",
         "arguments": '{"location": "Paris"}', "parsed": {"location": "Paris"}},
        {"type": "usage", "prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    ]
    assert encoder.done() == {"type": "done", "finish_reason": "tool_calls"}


def test_partial_arguments_can_be_left_out_and_bad_json_is_not_parsed() -> None:
    encoder = relay.EventEncoder(partial_arguments=False)
    encoder.encode(events.ToolCallStarted(0, 0, "c", "f"))
    delta = encoder.encode(events.ToolCallArgumentsDelta(0, 0, "{oops", arguments_so_far="{oops",
                                                         parsed_so_far={}))
    done = encoder.encode(events.ToolCallDone(0, 0, call("c", "f", "{oops")))
    assert delta is not None and delta["parsed"] is None
    assert done is not None and (done["arguments"], done["parsed"]) == ("{oops", None)


def test_open_containers_of_parsed_so_far_are_sent_as_json_objects_and_arrays() -> None:
    from aclarifai._partial_json import PartialJSONParser

    parser = PartialJSONParser()
    parser.feed('{"city": "Paris", "days": [1, {"am": true}, ')
    encoder = relay.EventEncoder()
    encoder.encode(events.ToolCallStarted(0, 0, "c", "f"))
    delta = encoder.encode(events.ToolCallArgumentsDelta(0, 0, "x", arguments_so_far="x",
                                                         parsed_so_far=parser.snapshot().value))
    assert delta is not None
    sent = relay.format_sse(delta)
    assert orjson.loads(sent[len(b"data: "):])["parsed"] == {"city": "Paris", "days": [1, {"am": True}]}


def test_agent_turns_keep_tool_call_keys_apart_and_sum_usage() -> None:
    encoder = relay.EventEncoder()
    turn_usage = Usage(prompt_tokens=10, completion_tokens=2, total_tokens=12)
    first_turn = [
        events.ToolCallStarted(0, 0, None, "get_weather"),  # the server sent no ids
        events.ToolCallStarted(0, 1, None, "get_time"),
        events.ToolCallDone(0, 0, call(None, "get_weather")),
        events.ToolCallDone(0, 1, call(None, "get_time")),
        events.UsageUpdated(turn_usage),
        events.Finished(0, "tool_calls"),
        # The agent assigned ids; results come in the order the tools finish.
        ToolResult(call("call_2", "get_time"), "14:05", None, 0.01),
        ToolResult(call("call_1", "get_weather"), None, "Error: boom", 0.02),
        TurnFinished(1, turn_usage),
    ]
    second_turn = [
        events.ToolCallStarted(0, 0, "call_x", "get_weather"),  # index 0 again
        events.ToolCallDone(0, 0, call("call_x", "get_weather")),
        ToolResult(call("call_x", "get_weather"), {"t": 21}, None, 0.03),
        events.UsageUpdated(Usage(prompt_tokens=20, completion_tokens=5, total_tokens=25)),
        events.Finished(0, "stop"),
        TurnFinished(2, None),
        RunFinished(result=None),  # type: ignore[arg-type]
        object(),  # unknown events are not relayed
    ]
    messages = [m for m in map(encoder.encode, first_turn + second_turn) if m is not None]
    started = [m for m in messages if m["type"] == "tool_call.started"]
    results = [m for m in messages if m["type"] == "tool_call.result"]
    usages = [m for m in messages if m["type"] == "usage"]
    assert [(m["key"], m["name"]) for m in started] == [
        (0, "get_weather"), (1, "get_time"), (2, "get_weather")
    ]
    assert [(m["key"], m["id"], m["output"], m["error"]) for m in results] == [
        (1, "call_2", "14:05", None),
        (0, "call_1", None, "Error: boom"),
        (2, "call_x", {"t": 21}, None),
    ]
    assert [u["total_tokens"] for u in usages] == [12, 37]  # summed over the turns
    assert encoder.done()["finish_reason"] == "stop"


def test_error_messages_name_the_error_and_hide_internals(caplog: pytest.LogCaptureFixture) -> None:
    api = relay.EventEncoder.error(RateLimitError("slow down", status_code=429, request_id="req-1"))
    assert api == {
        "type": "error", "error_type": "RateLimitError", "message": "HTTP 429: slow down (request id req-1)",
        "status_code": 429, "request_id": "req-1",
    }
    internal = relay.EventEncoder.error(KeyError("/etc/secret/path"))
    assert internal["error_type"] == "KeyError"
    assert "secret" not in orjson.dumps(internal).decode()
    assert "/etc/secret/path" in caplog.text  # the operator sees it in the log, the browser does not


def test_format_sse_is_one_data_line() -> None:
    data = relay.format_sse({"type": "text.delta", "text": "two\nlines\r\u2028"})
    assert data.startswith(b"data: {") and data.endswith(b"}\n\n") and data.count(b"\n") == 2
    assert parse(data) == [{"type": "text.delta", "text": "two\nlines\r\u2028"}]


def test_tool_outputs_that_json_cannot_hold_are_sent_as_text() -> None:
    encoder = relay.EventEncoder()
    for output, expected in [({1, 2}, [1, 2]), (b"raw", "raw"), (2**70, str(2**70)), (object, str(object))]:
        message = encoder.encode(ToolResult(call("c", "f"), output, None, 0.0))
        assert message is not None
        assert parse(relay.format_sse(message))[0]["output"] == expected


# -- the body -------------------------------------------------------------------------------------


async def test_a_completion_stream_relays_to_done(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.add_text("Hello there, browser", reasoning="Think.")
    # The acompletion() handle itself is accepted: its events are relayed.
    messages = await collect(client.acompletion(model=MODEL, messages=HI))
    kinds = [m["type"] for m in messages]
    assert kinds[0] == "reasoning.delta" and kinds[-1] == "done" and kinds.count("done") == 1
    assert "".join(m["text"] for m in messages if m["type"] == "text.delta") == "Hello there, browser"
    assert messages[-1] == {"type": "done", "finish_reason": "stop"}
    assert messages[-2]["type"] == "usage"
    assert fake.streams_completed == 1


async def test_a_stream_error_ends_the_body_with_an_error(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.add_chunks(
        [
            make_chunk({"role": "assistant", "content": "Par"}),
            {"error": {"message": "upstream overloaded", "type": "server_error"}},
        ],
        done=False,
    )
    async with client.acompletion(model=MODEL, messages=HI, stream=True) as stream:
        messages = await collect(stream.events())
    assert [m["type"] for m in messages] == ["text.delta", "error"]
    assert messages[-1]["error_type"] == "StreamError"
    assert "upstream overloaded" in messages[-1]["message"]


async def test_an_auth_error_never_shows_the_pat(fake: FakeClarifai) -> None:
    secret = "pat-that-must-not-leak-0123456789"
    async with AsyncClarifai(api_key=secret, base_url=fake.base_url, max_retries=0) as client:
        body = b"".join([d async for d in relay.sse_stream(client.acompletion(model=MODEL, messages=HI))])
    (message,) = parse(body)
    assert message["type"] == "error" and message["error_type"] == AuthenticationError.__name__
    assert message["status_code"] == 401
    assert secret.encode() not in body and b"0123456789" not in body


async def test_pings_keep_a_silent_stream_alive() -> None:
    release = asyncio.Event()

    async def slow() -> AsyncIterator[Any]:
        yield events.ContentDelta(0, "first")
        await release.wait()  # a tool or the model thinking
        yield events.ContentDelta(0, "second")

    body = relay.sse_stream(slow(), ping_interval=0.01)
    chunks = [await body.__anext__()]
    while (chunk := await body.__anext__()) != relay.PING:
        chunks.append(chunk)
    release.set()
    chunks += [chunk async for chunk in body if chunk != relay.PING]
    assert [m.get("text") for m in parse(b"".join(chunks))] == ["first", "second", None]


async def test_events_that_raise_anything_end_with_an_error_not_a_hang() -> None:
    async def broken() -> AsyncIterator[Any]:
        yield events.ContentDelta(0, "partial")
        raise asyncio.CancelledError  # e.g. a task inside the events gave up on its own

    messages = await collect(broken(), ping_interval=None)
    assert messages == [
        {"type": "text.delta", "text": "partial"},
        {"type": "error", "error_type": "CancelledError", "message": "internal server error",
         "status_code": None, "request_id": None},
    ]


async def test_ping_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="ping_interval"):
        await relay.sse_stream(events_of(), ping_interval=0).__anext__()


async def events_of(*items: Any) -> AsyncIterator[Any]:
    for item in items:
        yield item


# -- aiohttp --------------------------------------------------------------------------------------


async def test_aiohttp_relay_end_to_end(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.add_text("Streamed to the browser")

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        async with client.acompletion(model=MODEL, messages=body["messages"], stream=True) as stream:
            return await relay.aiohttp_sse_response(request, stream.events(), headers={"X-Demo": "1"})

    async with serve(chat) as url, aiohttp.ClientSession() as browser:
        async with browser.post(url, json={"messages": HI}) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            assert response.headers["Cache-Control"] == "no-cache"
            assert response.headers["X-Demo"] == "1"
            messages = parse(await response.read())
    assert "".join(m.get("text", "") for m in messages) == "Streamed to the browser"
    assert messages[-1]["type"] == "done"


@pytest.mark.parametrize("handler_cancellation", [True, False])
async def test_a_browser_that_leaves_closes_the_clarifai_stream(
    fake: FakeClarifai, client: AsyncClarifai, handler_cancellation: bool
) -> None:
    # The model sends one word, then stays silent with the connection open.
    fake.add_text("one two three", stall_after=1)
    relays_done = asyncio.Event()

    async def chat(request: web.Request) -> web.StreamResponse:
        try:
            # Without handler cancellation the relay notices at its next write: a ping.
            ping = None if handler_cancellation else 0.02
            return await relay.aiohttp_sse_response(
                request, client.acompletion(model=MODEL, messages=HI), ping_interval=ping
            )
        finally:
            relays_done.set()

    async with serve(chat, handler_cancellation=handler_cancellation) as url:
        async with aiohttp.ClientSession() as browser, browser.post(url, json={}) as response:
            seen = await read_until(response, "text.delta")
            assert seen == [{"type": "text.delta", "text": "one"}]
            assert fake.active_requests == 1
        # The browser is gone: the upstream stream must be aborted and its connection closed.
        await fake.wait_until(lambda: fake.streams_aborted == 1 and fake.open_connections == 0)
        await asyncio.wait_for(relays_done.wait(), 5)
    assert fake.streams_completed == 0


async def test_a_browser_that_leaves_cancels_running_tools(fake: FakeClarifai, client: AsyncClarifai) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    @tool
    async def get_weather(location: str) -> str:
        """Weather for a city, from a very slow service."""
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    agent = Agent(MODEL, [get_weather], client=client)

    async def chat(request: web.Request) -> web.StreamResponse:
        return await relay.aiohttp_sse_response(request, agent.stream("What's the weather in Paris?"))

    async with serve(chat, handler_cancellation=True) as url:
        async with aiohttp.ClientSession() as browser, browser.post(url, json={}) as response:
            seen = await read_until(response, "tool_call.done")
            assert seen[-1]["parsed"] == {"location": "Paris"}
            await asyncio.wait_for(started.wait(), 5)
        await asyncio.wait_for(cancelled.wait(), 5)
    assert agent.last_result is not None
    assert agent.last_result.tool_calls[0].error is not None  # answered as cancelled


async def test_concurrent_browsers_share_one_pooled_session(
    fake: FakeClarifai, client: AsyncClarifai, monkeypatch: pytest.MonkeyPatch
) -> None:
    browsers = 8
    sessions: set[int] = set()
    get_session = client._get_session

    def spy() -> aiohttp.ClientSession:
        session = get_session()
        sessions.add(id(session))
        return session

    monkeypatch.setattr(client, "_get_session", spy)
    # Every stream sends a word and then stalls, so all of them are open at the same time.
    fake.add_text("hello world", stall_after=1, times=browsers)

    async def chat(request: web.Request) -> web.StreamResponse:
        return await relay.aiohttp_sse_response(request, client.acompletion(model=MODEL, messages=HI))

    async def one_browser(session: aiohttp.ClientSession, url: str, all_started: asyncio.Event) -> None:
        async with session.post(url, json={}) as response:
            await read_until(response, "text.delta")
            await all_started.wait()

    async with serve(chat, handler_cancellation=True) as url:
        all_started = asyncio.Event()
        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(one_browser(session, url, all_started)) for _ in range(browsers)]
            await fake.wait_until(lambda: fake.max_concurrency == browsers)
            all_started.set()
            await asyncio.gather(*tasks)
        await fake.wait_until(lambda: fake.streams_aborted == browsers and fake.open_connections == 0)
    assert len(sessions) == 1
    assert fake.connections_opened <= browsers


# -- Starlette ------------------------------------------------------------------------------------


class _ASGIClient:
    """Just enough of an ASGI server to call one response: records what it sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.disconnect = asyncio.Event()
        self.first_body = asyncio.Event()
        self._requested = False

    async def receive(self) -> dict[str, Any]:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            self.first_body.set()

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    async def call(self, app: Any) -> None:
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "method": "POST",
                 "path": "/chat", "headers": []}
        await app(scope, self.receive, self.send)


async def test_starlette_relay_end_to_end(fake: FakeClarifai, client: AsyncClarifai) -> None:
    fake.add_text("Hello from Starlette")
    request = client.acompletion(model=MODEL, messages=HI)
    response = relay.starlette_sse_response(request, headers={"X-Demo": "1"})
    asgi = _ASGIClient()
    await asgi.call(response)
    start = asgi.sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert start["status"] == 200
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["x-demo"] == "1" and headers["x-accel-buffering"] == "no"
    messages = parse(asgi.body)
    assert "".join(m.get("text", "") for m in messages) == "Hello from Starlette"
    assert messages[-1] == {"type": "done", "finish_reason": "stop"}


async def test_starlette_disconnect_closes_the_clarifai_stream(
    fake: FakeClarifai, client: AsyncClarifai
) -> None:
    fake.add_text("one two three", stall_after=1)
    request = client.acompletion(model=MODEL, messages=HI)
    response = relay.starlette_sse_response(request, ping_interval=None)
    asgi = _ASGIClient()
    serving = asyncio.create_task(asgi.call(response))
    await asyncio.wait_for(asgi.first_body.wait(), 5)
    assert parse(asgi.body) == [{"type": "text.delta", "text": "one"}]
    asgi.disconnect.set()
    await serving
    await fake.wait_until(lambda: fake.streams_aborted == 1 and fake.open_connections == 0)
    await asyncio.wait_for(_drained(), 5)


async def _drained() -> None:
    """Wait for readers that finish after their relay was cancelled (Starlette's anyio scope)."""
    while relay._background:
        await asyncio.wait(set(relay._background))
