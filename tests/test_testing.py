"""FakeClarifai, exercised with a plain aiohttp client (not the library's own client)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from aclarifai.testing import FakeClarifai, make_chunk

STREAMS = Path(__file__).parent / "fixtures" / "streams"
MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
                "detailed": {"type": "boolean"},
            },
            "required": ["location", "unit", "days"],
        },
    },
}


@pytest.fixture(autouse=True)
def no_logged_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail on anything asyncio or aiohttp log at ERROR: "Unclosed ...", handler crashes."""
    with caplog.at_level(logging.ERROR):
        yield
    bad = [r for r in caplog.records if r.name.startswith(("asyncio", "aiohttp"))]
    assert not bad, [r.getMessage() for r in bad]


@pytest.fixture
async def fake() -> AsyncIterator[FakeClarifai]:
    async with FakeClarifai() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def auth(fake: FakeClarifai) -> dict[str, str]:
    return {"Authorization": f"Bearer {fake.api_key}"}


def chat_body(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}


async def post(
    session: aiohttp.ClientSession, fake: FakeClarifai, body: dict[str, Any]
) -> tuple[aiohttp.ClientResponse, bytes]:
    async with session.post(fake.chat_url, json=body, headers=auth(fake)) as resp:
        return resp, await resp.read()


def events(raw: bytes) -> list[Any]:
    """Parse a generated stream strictly: only `data: ` events, JSON until a final [DONE]."""
    assert raw.endswith(b"\n\n")
    frames = raw[:-2].split(b"\n\n")
    assert frames[-1] == b"data: [DONE]"
    assert all(f.startswith(b"data: ") for f in frames)
    return [orjson.loads(f[len(b"data: ") :]) for f in frames[:-1]]


async def stream(
    session: aiohttp.ClientSession, fake: FakeClarifai, body: dict[str, Any]
) -> list[dict[str, Any]]:
    resp, raw = await post(session, fake, {**body, "stream": True})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/event-stream"
    return events(raw)


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


def tool_deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [tc for d in deltas(chunks) for tc in d.get("tool_calls", ())]


def assemble_tools(chunks: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    for tc in tool_deltas(chunks):
        call = calls.setdefault(tc["index"], {"name": "", "arguments": ""})
        call["name"] = call["name"] or tc.get("function", {}).get("name", "")
        call["arguments"] += tc["function"].get("arguments", "")
    return calls


# -- protocol ------------------------------------------------------------------------------


async def test_missing_or_wrong_pat_gets_clarifai_401(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": fake.api_key}):
        async with session.post(fake.chat_url, json=chat_body(), headers=headers) as resp:
            assert resp.status == 401
            body = await resp.json()
            assert body["status"]["code"] == 11009
            assert body["status"]["description"] == "API key not found"
            assert body["status"]["req_id"] == resp.headers["X-Request-Id"]
            assert "details" in body["status"]
    assert fake.pending == 0


async def test_key_scheme_and_custom_pat_are_accepted(session: aiohttp.ClientSession) -> None:
    async with FakeClarifai(api_key="my-pat") as fake:
        headers = {"Authorization": "Key my-pat"}
        async with session.post(fake.chat_url, json=chat_body(), headers=headers) as resp:
            assert resp.status == 200
        assert fake.last_request.headers["Authorization"] == "Key ***"


async def test_request_ids_are_fresh_per_response(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    ids = []
    for _ in range(3):
        resp, _ = await post(session, fake, chat_body())
        ids.append(resp.headers["X-Request-Id"])
    assert ids == ["fake-req-000001", "fake-req-000002", "fake-req-000003"]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"{not json", "JSON"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (orjson.dumps({"model": MODEL}), "messages"),
        (orjson.dumps({"model": MODEL, "messages": []}), "messages"),
    ],
)
async def test_invalid_body_is_an_openai_style_400(
    fake: FakeClarifai, session: aiohttp.ClientSession, data: bytes, needle: str
) -> None:
    fake.add_text("never sent")
    async with session.post(fake.chat_url, data=data, headers=auth(fake)) as resp:
        assert resp.status == 400
        error = (await resp.json())["error"]
    assert error["type"] == "invalid_request_error" and error["code"] is None
    assert needle in error["message"]
    assert fake.pending == 1  # a rejected request does not consume the script


async def test_unknown_path_and_wrong_method(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    async with session.get(fake.base_url + "/v2/nope", headers=auth(fake)) as resp:
        assert resp.status == 404
    async with session.get(fake.chat_url, headers=auth(fake)) as resp:
        assert resp.status == 405


async def test_models_list(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    url = fake.base_url + "/v2/ext/openai/v1/models"
    async with session.get(url, headers=auth(fake)) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["object"] == "list"
    assert body["data"][0] == {
        "id": MODEL,
        "object": "model",
        "created": 1_700_000_000,
        "owned_by": "openai",
    }


async def test_models_list_needs_the_pat(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    async with session.get(fake.base_url + "/v2/ext/openai/v1/models") as resp:
        assert resp.status == 401


async def test_wait_until_times_out_with_a_clear_error(fake: FakeClarifai) -> None:
    with pytest.raises(TimeoutError, match="condition still false"):
        await fake.wait_until(lambda: False, timeout=0.01)


async def test_base_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = FakeClarifai().base_url


# -- generated replies ---------------------------------------------------------------------


async def test_stream_framing_role_finish_and_usage(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    fake.add_text("Hello there, friend")
    chunks = await stream(session, fake, chat_body("one two three"))
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["id"] for c in chunks} == {"chatcmpl-fake-000001"}
    assert {c["model"] for c in chunks} == {MODEL}
    assert deltas(chunks)[0] == {"role": "assistant", "content": "Hello"}
    assert "".join(d.get("content", "") for d in deltas(chunks)) == "Hello there, friend"
    assert chunks[-2]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}


async def test_text_chunk_count_reasoning_and_custom_usage(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    usage = {"prompt_tokens": 7, "completion_tokens": 9, "total_tokens": 16}
    fake.add_text(
        "abcdefghij",
        chunks=4,
        reasoning="hmm",
        reasoning_field="reasoning",
        usage=usage,
        finish_reason="length",
    )
    chunks = await stream(session, fake, chat_body())
    parts = deltas(chunks)
    assert parts[0] == {"role": "assistant", "reasoning": "hmm"}
    contents = [d["content"] for d in parts if "content" in d]
    assert len(contents) == 4 and "".join(contents) == "abcdefghij"
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"] == usage


async def test_non_stream_completion_shape(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    fake.add_text("Hi!", reasoning="brief")
    resp, raw = await post(session, fake, chat_body())
    assert resp.headers["Content-Type"] == "application/json"
    body = orjson.loads(raw)
    assert body["object"] == "chat.completion" and body["model"] == MODEL
    choice = body["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": "Hi!",
        "reasoning_content": "brief",
    }
    assert choice["finish_reason"] == "stop"
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 2


async def test_tool_call_fragments_reassemble(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    args = {"location": "Paris", "days": 3}
    fake.add_tool_calls(
        [
            {
                "name": "get_weather",
                "arguments": args,
                "id": "call_1",
                "extra": {"thought_signature": "sig"},
            }
        ],
        fragments=5,
    )
    chunks = await stream(session, fake, chat_body())
    first, *rest = tool_deltas(chunks)
    assert first == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
        "thought_signature": "sig",
    }
    assert len(rest) == 5 and all(set(d) == {"index", "function"} for d in rest)
    assert orjson.loads(assemble_tools(chunks)[0]["arguments"]) == args
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


async def test_parallel_tool_calls_interleave_by_index(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    calls = [{"name": f"tool_{i}", "arguments": {"n": i, "pad": "x" * 20}} for i in range(3)]
    fake.add_tool_calls(calls, fragments=3, interleave=True, content="Let me check.")
    chunks = await stream(session, fake, chat_body())
    order = [d["index"] for d in tool_deltas(chunks)]
    assert order == [0, 1, 2] * 4  # head then 3 fragments each, round robin
    assembled = assemble_tools(chunks)
    for i in range(3):
        assert assembled[i]["name"] == f"tool_{i}"
        assert orjson.loads(assembled[i]["arguments"]) == calls[i]["arguments"]
    assert deltas(chunks)[0] == {"role": "assistant", "content": "Let"}


async def test_raw_argument_strings_and_non_stream_tool_calls_keep_index(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    fake.add_tool_calls([{"name": "a", "arguments": "{broken"}, {"name": "b"}])
    _, raw = await post(session, fake, chat_body())
    message = orjson.loads(raw)["choices"][0]["message"]
    assert message["content"] is None
    assert [(c["index"], c["function"]["arguments"]) for c in message["tool_calls"]] == [
        (0, "{broken"),
        (1, "{}"),
    ]


async def test_same_script_same_bytes(session: aiohttp.ClientSession) -> None:
    bodies = []
    for _ in range(2):
        async with FakeClarifai() as fake:
            fake.add_text("deterministic reply", reasoning="r")
            fake.add_tool_calls([{"name": "f", "arguments": {"x": 1}}], interleave=True)
            got = [await post(session, fake, chat_body(stream=True)) for _ in range(3)]
            bodies.append([raw for _, raw in got])
    assert bodies[0] == bodies[1]


async def test_add_chunks_verbatim_with_raw_bytes_and_no_done(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    chunk = make_chunk({"content": "x"}, model="other")
    fake.add_chunks([chunk, b": keep-alive\n\n"], usage={"total_tokens": 1}, done=False)
    _, raw = await post(session, fake, chat_body())  # streamed although not asked
    frames = raw.split(b"\n\n")
    assert orjson.loads(frames[0][6:]) == chunk
    assert frames[1] == b": keep-alive"
    assert orjson.loads(frames[2][6:])["usage"] == {"total_tokens": 1}
    assert b"[DONE]" not in raw


# -- replay and faults ---------------------------------------------------------------------


@pytest.mark.parametrize("split", [{}, {"splits": [1, 2, 3, 100, 101]}, {"split_seed": 7}, {"chunk_size": 1}])
async def test_add_sse_replays_byte_for_byte(
    fake: FakeClarifai, session: aiohttp.ClientSession, split: dict[str, Any]
) -> None:
    path = STREAMS / "openai_json_object_unicode.sse"
    fake.add_sse(path, **split)
    async with session.post(fake.chat_url, json=chat_body(), headers=auth(fake)) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        received = b"".join([piece async for piece in resp.content.iter_any()])
    assert received == path.read_bytes()


async def test_add_sse_disconnect_after_counts_bytes(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    data = (STREAMS / "openai_plain_content.sse").read_bytes()
    fake.add_sse(data, chunk_size=50, disconnect_after=123)
    received = b""
    with pytest.raises(aiohttp.ClientPayloadError):
        async with session.post(fake.chat_url, json=chat_body(), headers=auth(fake)) as resp:
            async for piece in resp.content.iter_any():
                received += piece
    assert received == data[:123]


async def test_errors_with_headers_and_odd_200s(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    fake.add_error(429, headers={"Retry-After": "2"})
    fake.add_error(502, "<html>Bad Gateway</html>", content_type="text/html")
    fake.add_error(500, {"code": 21313, "description": "Model prediction failed"})
    fake.add_response(200, "<html>login</html>", content_type="text/html")
    fake.add_response()
    resp, raw = await post(session, fake, chat_body())
    assert (resp.status, resp.headers["Retry-After"]) == (429, "2")
    assert orjson.loads(raw)["error"]["type"] == "rate_limit_error"
    resp, raw = await post(session, fake, chat_body())
    assert (resp.status, resp.content_type, raw) == (502, "text/html", b"<html>Bad Gateway</html>")
    resp, raw = await post(session, fake, chat_body())
    assert (resp.status, orjson.loads(raw)["code"]) == (500, 21313)
    resp, raw = await post(session, fake, chat_body(stream=True))
    assert (resp.status, resp.content_type) == (200, "text/html")
    resp, raw = await post(session, fake, chat_body())
    assert (resp.status, raw) == (200, b"")


async def test_times_pending_and_reset(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    fake.add_error(503, times=2)
    fake.add_text("ok")
    assert fake.pending == 3
    statuses = [(await post(session, fake, chat_body()))[0].status for _ in range(3)]
    assert statuses == [503, 503, 200] and fake.pending == 0
    fake.add_text("queued")
    fake.reset()
    assert (fake.pending, fake.request_count, fake.requests) == (0, 0, [])
    with pytest.raises(ValueError):
        fake.add_text("x", times=0)
    with pytest.raises(ValueError):
        fake.add_text("x", disconnect_after=1, stall_after=1)


async def test_disconnect_after_n_events(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    fake.add_text("one two three four five", disconnect_after=2)
    received = b""
    with pytest.raises(aiohttp.ClientPayloadError):
        body = chat_body(stream=True)
        async with session.post(fake.chat_url, json=body, headers=auth(fake)) as resp:
            assert resp.status == 200
            async for piece in resp.content.iter_any():
                received += piece
    assert received.count(b"data: ") == 2 and received.endswith(b"\n\n")
    await fake.wait_idle()
    assert (fake.streams_aborted, fake.streams_completed) == (1, 0)


async def test_disconnect_after_bytes_of_a_non_stream_body(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    fake.add_text("a complete answer", disconnect_after=10)
    with pytest.raises(aiohttp.ClientPayloadError):
        await post(session, fake, chat_body())


async def test_add_disconnect_drops_without_answer(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    fake.add_disconnect()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(session, fake, chat_body())
    resp, _ = await post(session, fake, chat_body())  # the next request is served normally
    assert resp.status == 200


async def test_stall_after_hits_the_client_read_timeout(fake: FakeClarifai) -> None:
    fake.add_text("never finishes", stall_after=1)
    timeout = aiohttp.ClientTimeout(sock_read=0.2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        body = chat_body(stream=True)
        async with session.post(fake.chat_url, json=body, headers=auth(fake)) as resp:
            first = await resp.content.readuntil(b"\n\n")
            assert first.startswith(b"data: ")
            with pytest.raises(asyncio.TimeoutError):
                await resp.content.read()
    # The client closed the connection: the stalled handler is cancelled, not left hanging.
    await fake.wait_idle(connections=True)
    assert (fake.streams_aborted, fake.active_requests) == (1, 0)


async def test_close_releases_stalled_and_delayed_handlers(
    session: aiohttp.ClientSession,
) -> None:
    fake = await FakeClarifai().start()
    fake.add_text("stuck", stall_after=0)
    fake.add_text("late", delay=3600)
    body = chat_body(stream=True)
    tasks = [asyncio.ensure_future(post(session, fake, body)) for _ in range(2)]
    await fake.wait_until(lambda: fake.active_requests == 2)
    await fake.close()
    await fake.close()  # idempotent
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, aiohttp.ClientError) for r in results)
    assert (fake.active_requests, fake.open_connections, fake.streams_aborted) == (0, 0, 1)


# -- accounting ----------------------------------------------------------------------------


async def test_requests_are_recorded_with_the_pat_hidden(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    await post(session, fake, chat_body("first", temperature=0.5))
    async with session.post(fake.chat_url, data=b"raw", headers=auth(fake)):
        pass
    first, second = fake.requests
    assert (first.method, first.path) == ("POST", "/v2/ext/openai/v1/chat/completions")
    assert first.headers["Authorization"] == "Bearer ***"
    assert first.json["temperature"] == 0.5 and orjson.loads(first.body) == first.json
    assert (second.json, second.body) == (None, b"raw")
    assert fake.api_key not in repr(fake.requests)
    assert fake.request_count == 2


async def test_connections_are_counted_until_the_client_closes(fake: FakeClarifai) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(3):  # keep-alive: one connection serves all three
            await post(session, fake, chat_body(stream=True))
        assert fake.open_connections == 1
    await fake.wait_idle(connections=True)
    assert (fake.connections_opened, fake.connections_closed, fake.open_connections) == (1, 1, 0)
    assert fake.streams_completed == 3


async def test_max_concurrency_counts_overlapping_requests(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    fake.add_text("held open", stall_after=1, times=5)
    responses = []
    for _ in range(5):
        resp = await session.post(fake.chat_url, json=chat_body(stream=True), headers=auth(fake))
        await resp.content.readuntil(b"\n\n")  # its handler is now running, and stays so
        responses.append(resp)
    assert (fake.active_requests, fake.max_concurrency, fake.open_connections) == (5, 5, 5)
    for resp in responses:
        resp.close()  # drop the connection: the stalled handlers are cancelled
    await fake.wait_idle(connections=True)
    assert (fake.active_requests, fake.max_concurrency, fake.streams_aborted) == (0, 5, 5)


# -- demo model ----------------------------------------------------------------------------


async def test_demo_echoes_streams_and_reasons(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    chunks = await stream(session, fake, chat_body("Hello model", reasoning_effort="low"))
    parts = deltas(chunks)
    text = "".join(d.get("content", "") for d in parts)
    assert text == 'You said: "Hello model". I am FakeClarifai\'s demo model.'
    assert len([d for d in parts if "content" in d]) > 3  # word by word
    assert parts[0]["role"] == "assistant" and "reasoning_content" in parts[0]
    assert chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0


async def test_demo_counts_images(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    content = [{"type": "text", "text": "Describe"}, image, image]
    body = {"model": MODEL, "messages": [{"role": "user", "content": content}]}
    _, raw = await post(session, fake, body)
    answer = orjson.loads(raw)["choices"][0]["message"]["content"]
    assert '"Describe"' in answer and "2 images" in answer


async def test_demo_calls_a_named_tool_with_schema_arguments(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    other = {"type": "function", "function": {"name": "send_email", "parameters": {}}}
    body = chat_body("What's the weather in Paris?", tools=[other, WEATHER_TOOL])
    chunks = await stream(session, fake, body)
    calls = assemble_tools(chunks)
    assert list(calls) == [0] and calls[0]["name"] == "get_weather"
    args = orjson.loads(calls[0]["arguments"])
    assert args == {"location": "Paris", "unit": "celsius", "days": 1}
    assert len(tool_deltas(chunks)) > 2  # arguments arrive in fragments
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


async def test_demo_calls_every_matching_tool_in_parallel(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    email = {"type": "function", "function": {"name": "send_email", "parameters": {}}}
    body = chat_body("Check the weather, then email me", tools=[WEATHER_TOOL, email])
    _, raw = await post(session, fake, body)
    calls = orjson.loads(raw)["choices"][0]["message"]["tool_calls"]
    assert [(c["index"], c["function"]["name"]) for c in calls] == [
        (0, "get_weather"),
        (1, "send_email"),
    ]


async def test_demo_answers_from_tool_results(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 21}'},
    ]
    body = {"model": MODEL, "messages": messages, "tools": [WEATHER_TOOL]}
    _, raw = await post(session, fake, body)
    message = orjson.loads(raw)["choices"][0]["message"]
    assert "tool_calls" not in message
    assert 'Using get_weather: {"temp": 21}.' in message["content"]


@pytest.mark.parametrize(
    "extra",
    [
        {"tools": [{"type": "function", "function": {"name": "weather", "parameters": "?"}}]},
        {"tools": [{"type": "nope"}, "junk"], "tool_choice": {"function": "x"}},
        {"tool_choice": "required", "tools": [WEATHER_TOOL]},
        {"response_format": {"type": "json_schema", "json_schema": "bad"}},
        {"response_format": {"type": "json_object"}},
        {"messages": [{"role": "assistant", "tool_calls": ["junk"]}, {"role": "tool"}]},
        {"messages": [{"role": "system", "content": None}]},
    ],
)
async def test_demo_answers_odd_requests_without_crashing(
    fake: FakeClarifai, session: aiohttp.ClientSession, extra: dict[str, Any]
) -> None:
    resp, raw = await post(session, fake, {**chat_body("weather?"), **extra})
    assert resp.status == 200
    assert orjson.loads(raw)["object"] == "chat.completion"


async def test_demo_fills_a_json_schema(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "score": {"type": "number", "minimum": 5},
            "owner": {"$ref": "#/$defs/Person"},
        },
        "required": ["city", "tags", "score", "owner"],
        "$defs": {
            "Person": {
                "type": "object",
                "properties": {"ok": {"type": "boolean"}},
                "required": ["ok"],
            }
        },
    }
    rf = {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}
    chunks = await stream(session, fake, chat_body("Tell me about Lyon", response_format=rf))
    content = "".join(d.get("content", "") for d in deltas(chunks))
    assert orjson.loads(content) == {
        "city": "Lyon",
        "tags": ["sample"],
        "score": 5.0,
        "owner": {"ok": True},
    }
