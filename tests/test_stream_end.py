"""How a stream ends: whole, cut short, dropped or broken (issue 11 §2, §3, §7), over loopback HTTP.

A 200 event stream that ends without ``[DONE]`` and without a ``finish_reason`` on every choice
it began is incomplete: retried before any output, a ``StreamError`` with ``.partial`` after.
Every failure after the first chunk is a ``StreamError`` and also its natural class. Invalid
UTF-8 is replaced (U+FFFD) and counted, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web

from aclarifai import (
    Agent,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncClarifai,
    ChatCompletion,
    ClientClosedError,
    StreamConnectionError,
    StreamError,
    StreamStatusError,
    StreamTimeoutError,
    StreamValidationError,
    Timeout,
    events,
)
from aclarifai.agent import RunFinished
from aclarifai.testing import FakeClarifai, make_chunk

from .conftest import MODEL

MESSAGES = [{"role": "user", "content": "hi"}]
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}



def make_client(fake: FakeClarifai, **options: Any) -> AsyncClarifai:
    return AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, **options)


def text(*words: str, finish: str | None = None) -> list[dict[str, Any]]:
    """Content chunks for choice 0, the last one with ``finish`` as its finish_reason."""
    chunks = [make_chunk({"content": w}) for w in words]
    if finish is not None:
        chunks.append(make_chunk({}, finish_reason=finish))
    return chunks


def sse(chunks: list[dict[str, Any]], *, done: bool = False) -> bytes:
    body = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks)
    return body + (b"data: [DONE]\n\n" if done else b"")


def content(completion: ChatCompletion | None, index: int = 0) -> str | None:
    assert completion is not None
    return {c.index: c for c in completion.choices}[index].message.content


async def pieces_until_error(
    client: AsyncClarifai, error: type[BaseException] = StreamError
) -> tuple[list[str], Any]:
    """Iterate a stream chunk by chunk; the content handed out and the error it ended with."""
    received: list[str] = []
    with pytest.raises(error) as info:
        async for chunk in client.acompletion(model=MODEL, messages=MESSAGES):
            received.extend(c.delta.content or "" for c in chunk.choices)
    return received, info.value


# -- §2: a body that ends early ----------------------------------------------------------------


async def test_truncated_after_output_raises_with_the_exact_partial(fake: FakeClarifai) -> None:
    fake.add_chunks(text("The", " answer", " is"), done=False)
    async with make_client(fake) as client:
        received, error = await pieces_until_error(client)
    assert isinstance(error, StreamConnectionError) and isinstance(error, APIConnectionError)
    assert error.message == (
        "the stream ended after 3 chunks without [DONE] and without a finish_reason for "
        "choice 0: the answer is incomplete"
    )
    assert "".join(received) == content(error.partial) == "The answer is"
    assert error.partial.choices[0].finish_reason is None
    assert error.request_id == "fake-req-000001"
    assert fake.request_count == 1  # output had reached the caller: never retried


async def test_truncated_before_output_is_retried(fake: FakeClarifai, sleeps: list[float]) -> None:
    """``get_final_completion`` hands nothing out until the end: a short body is retried whole."""
    fake.add_chunks(text("The", " ans"), done=False)
    fake.add_chunks(text("The", " answer", finish="stop"), usage=USAGE)
    async with make_client(fake) as client:
        async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True) as stream:
            completion = await stream.get_final_completion()
            assert stream.complete
    assert content(completion) == "The answer"
    assert completion.choices[0].finish_reason == "stop"
    assert fake.request_count == 2 and len(sleeps) == 1


async def test_truncated_before_output_with_retries_exhausted(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    fake.add_chunks(text("cut"), done=False, times=3)
    async with make_client(fake) as client:
        stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        with pytest.raises(StreamConnectionError, match="after 1 chunk without") as info:
            await stream.get_final_completion()
        assert not stream.complete
    assert content(info.value.partial) == "cut"  # what the last attempt received
    assert fake.request_count == 3 and len(sleeps) == 2


async def test_events_before_any_event_handed_out_are_retried(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    """A role-only chunk produces no event, so a body cut after it is retried under events()."""
    fake.add_chunks([make_chunk({"role": "assistant"})], done=False)
    fake.add_chunks(text("whole", finish="stop"))
    async with make_client(fake) as client:
        async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True) as stream:
            seen = [e async for e in stream.events()]
    assert [type(e).__name__ for e in seen] == ["ContentDelta", "ContentDone", "Finished"]
    assert fake.request_count == 2 and len(sleeps) == 1


async def test_events_of_a_truncated_stream_never_say_finished(fake: FakeClarifai) -> None:
    fake.add_chunks(text("half", " an"), done=False)
    seen: list[events.StreamEvent] = []
    async with make_client(fake) as client:
        async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True) as stream:
            with pytest.raises(StreamConnectionError) as info:
                async for event in stream.events():
                    seen.append(event)
    assert [type(e).__name__ for e in seen] == ["ContentDelta", "ContentDelta"]
    assert content(info.value.partial) == "half an"


@pytest.mark.parametrize("usage_chunk", [False, True], ids=["no-usage", "usage-last"])
async def test_finish_reason_without_done_is_whole(fake: FakeClarifai, usage_chunk: bool) -> None:
    """watsonx ends this way: every choice finished, no ``[DONE]``; the usage chunk may follow."""
    fake.add_chunks(text("all", " here", finish="stop"), usage=USAGE if usage_chunk else None,
                    done=False)
    async with make_client(fake) as client:
        async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True) as stream:
            seen = [e async for e in stream.events()]
            assert stream.complete
    finished = [e for e in seen if isinstance(e, events.Finished)]
    assert [e.finish_reason for e in finished] == ["stop"]
    completion = stream.completion
    assert content(completion) == "all here"
    assert (completion.usage is not None) == usage_chunk


async def test_usage_only_last_chunk_has_no_choices(fake: FakeClarifai) -> None:
    """The last chunk has ``choices == []``: code that reads ``choices[0]`` must guard it."""
    fake.add_chunks(text("hi", finish="stop"), usage=USAGE)
    chunks = []
    async with make_client(fake) as client:
        async for chunk in client.acompletion(model=MODEL, messages=MESSAGES):
            chunks.append(chunk)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 5
    assert [c.choices[0].delta.content for c in chunks if c.choices] == ["hi", None]


async def test_a_stream_of_no_choices_without_done_is_incomplete(fake: FakeClarifai) -> None:
    """Only ``choices: []`` chunks (a usage or filter chunk), then the end: nothing was answered."""
    fake.add_chunks([make_chunk(usage=USAGE)], done=False)
    async with make_client(fake, max_retries=0) as client:
        _, error = await pieces_until_error(client)
    assert error.message == "the stream ended after 1 chunk without any choice and without [DONE]"


async def test_done_without_finish_reason_stays_whole(fake: FakeClarifai) -> None:
    fake.add_chunks(text("snow", "flake"), done=True)
    async with make_client(fake) as client:
        completion = await (
            await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        ).get_final_completion()
    assert content(completion) == "snowflake" and completion.choices[0].finish_reason is None


def choice_chunk(index: int, word: str | None, finish: str | None = None) -> dict[str, Any]:
    return make_chunk({"content": word} if word else {}, index=index, finish_reason=finish)


async def test_n_choices_each_must_finish(fake: FakeClarifai) -> None:
    fake.add_chunks([
        choice_chunk(0, "a"), choice_chunk(1, "b"), choice_chunk(2, "c"),
        choice_chunk(0, None, "stop"), choice_chunk(2, "d"), choice_chunk(2, None, "length"),
    ], done=False)
    async with make_client(fake) as client:
        received, error = await pieces_until_error(client, StreamConnectionError)
    assert "without a finish_reason for choice 1:" in error.message
    assert received == ["a", "b", "c", "", "d", ""]
    assert [content(error.partial, i) for i in range(3)] == ["a", "b", "cd"]
    assert [c.finish_reason for c in error.partial.choices] == ["stop", None, "length"]


async def test_n_choices_all_finished_without_done(fake: FakeClarifai) -> None:
    fake.add_chunks([
        choice_chunk(0, "a"), choice_chunk(1, "b"),
        choice_chunk(1, None, "stop"), choice_chunk(0, None, "stop"),
    ], usage=USAGE, done=False)
    async with make_client(fake) as client:
        completion = await (
            await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        ).get_final_completion()
    assert [content(completion, i) for i in (0, 1)] == ["a", "b"]
    assert completion.usage is not None


# -- §3: failures after the first chunk --------------------------------------------------------


@pytest.mark.parametrize("after", [1, 3])
async def test_a_dropped_connection_is_a_stream_error(fake: FakeClarifai, after: int) -> None:
    fake.add_text("one two three four five", disconnect_after=after)
    async with make_client(fake) as client:
        received, error = await pieces_until_error(client, APIConnectionError)
    assert isinstance(error, StreamConnectionError) and isinstance(error, StreamError)
    plural = "" if after == 1 else "s"
    assert error.message == (
        f"the connection closed after {after} chunk{plural}, before the stream was complete"
    )
    assert "TransferEncoding" not in str(error) and "400" not in str(error)
    assert "".join(received) == content(error.partial) == " ".join("one two three".split()[:after])
    assert fake.request_count == 1


async def test_a_dropped_connection_before_output_is_retried(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    fake.add_text("lost", disconnect_after=0)
    fake.add_text("found")
    async with make_client(fake) as client:
        completion = await (
            await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        ).get_final_completion()
    assert content(completion) == "found" and len(sleeps) == 1


async def test_retries_exhausted_before_any_chunk_keep_the_natural_class(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    fake.add_text("never", disconnect_after=0, times=3)
    async with make_client(fake) as client:
        with pytest.raises(APIConnectionError) as info:
            async for _ in client.acompletion(model=MODEL, messages=MESSAGES):
                pass
    assert not isinstance(info.value, StreamError)
    assert info.value.message.startswith("the connection closed before the first chunk")


async def test_a_read_timeout_after_output(fake: FakeClarifai) -> None:
    fake.add_text("this stream stalls halfway", stall_after=2)
    async with make_client(fake, timeout=Timeout(connect=5, read=0.2)) as client:
        received, error = await pieces_until_error(client, APITimeoutError)
    assert isinstance(error, StreamTimeoutError) and isinstance(error, StreamConnectionError)
    assert error.message == "timed out after 2 chunks: no data within the read timeout"
    assert "".join(received) == content(error.partial) == "this stream"


@pytest.mark.parametrize(
    ("error_chunk", "cls", "status"),
    [
        ({"error": {"message": "model overloaded", "type": "server_error"}}, StreamError, None),
        ({"error": {"message": "upstream failed", "code": 500}}, StreamStatusError, 500),
        ({"code": 21354, "description": "Model busy"}, StreamError, None),
    ],
    ids=["error-object", "error-with-status", "clarifai-status"],
)
async def test_errors_reported_in_the_stream(
    fake: FakeClarifai, error_chunk: dict[str, Any], cls: type[StreamError], status: int | None
) -> None:
    fake.add_chunks([*text("The", " answer"), error_chunk], done=False)
    # No retries: the whole body may arrive in one read, before the caller has a chunk (a
    # retryable error would then be retried); the gated test below covers retries on.
    async with make_client(fake, max_retries=0) as client:
        received, error = await pieces_until_error(client)
    assert type(error) is cls and error.status_code == status
    assert isinstance(error, APIStatusError) == (status is not None)
    assert "".join(received) == content(error.partial) == "The answer"


async def test_unreadable_data_after_output(fake: FakeClarifai) -> None:
    fake.add_chunks([*text("fine"), b'data: {"choices": [oops\n\n'], done=False)
    async with make_client(fake) as client:
        received, error = await pieces_until_error(client, APIResponseValidationError)
    assert isinstance(error, StreamValidationError)
    assert received == ["fine"] and content(error.partial) == "fine"


async def test_cancelled_stream_is_a_stream_error_when_read_again(fake: FakeClarifai) -> None:
    fake.add_text("a long answer we will not read to the end", chunk_delay=0.05)
    async with make_client(fake) as client:
        stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        first = await stream.__anext__()
        reader = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        with pytest.raises(StreamConnectionError, match="cancelled") as info:
            await stream.__anext__()
    assert content(info.value.partial) == first.choices[0].delta.content


@contextlib.asynccontextmanager
async def gated_server(first: bytes, rest: bytes) -> AsyncIterator[tuple[str, asyncio.Event]]:
    """Sends ``first``, waits for the gate (the caller has its chunk), then ``rest``."""
    gate = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(first)
        await gate.wait()
        with contextlib.suppress(ConnectionError):
            await response.write(rest)
            await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v2/ext/openai/v1/chat/completions", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", gate
    finally:
        gate.set()
        await runner.cleanup()


async def test_a_retryable_error_event_after_output_is_not_retried() -> None:
    error_chunk = {"error": {"message": "upstream failed", "code": 503}}
    async with gated_server(sse(text("The", " answer")), sse([error_chunk])) as (url, gate):
        async with AsyncClarifai(api_key="k", base_url=url) as client:
            received: list[str] = []
            with pytest.raises(StreamStatusError) as info:
                async for chunk in client.acompletion(model=MODEL, messages=MESSAGES):
                    received.append(chunk.choices[0].delta.content or "")
                    gate.set()
    error = info.value
    assert isinstance(error, APIStatusError) and error.status_code == 503
    assert "".join(received) == content(error.partial) == "The answer"


# -- a loopback server whose body ends at a chosen byte ----------------------------------------


@contextlib.asynccontextmanager
async def raw_server(body: bytes) -> AsyncIterator[str]:
    """HTTP/1.1 with no length and no chunking: the body ends when the server closes cleanly."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b""):
            pass  # the request line and headers
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        writer.write(head + body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_clean_close_mid_event_is_a_truncation() -> None:
    """Cut inside an event: the partial event is not read as malformed JSON but as a cut."""
    body = sse(text("ok", " so")) + b'data: {"choices": [{"index": 0, "delta": {"content": " fa'
    async with raw_server(body) as base_url, AsyncClarifai(
        api_key="k", base_url=base_url, max_retries=0
    ) as client:
        received, error = await pieces_until_error(client, StreamConnectionError)
    assert error.message == (
        "the stream ended after 2 chunks in the middle of an event: the answer is incomplete"
    )
    assert "".join(received) == content(error.partial) == "ok so"


async def test_a_clean_close_after_finish_reason_is_whole() -> None:
    async with raw_server(sse(text("ok", finish="stop"))) as base_url, AsyncClarifai(
        api_key="k", base_url=base_url
    ) as client:
        chunks = [c async for c in client.acompletion(model=MODEL, messages=MESSAGES)]
    assert [c.choices[0].finish_reason for c in chunks] == [None, "stop"]


# -- §7: invalid UTF-8 ---------------------------------------------------------------------------

BROKEN = (
    b'data: {"choices": [{"index": 0, "delta": {"content": "caf\xc3\xa9 \xff"}}]}\n\n'
    b'data: {"choices": [{"index": 0, "delta": {"content": " \xe6\xbc\xa2\xe2\x82!"}}]}\n\n'
    b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize(
    "split", [{}, {"split_seed": 1}, {"split_seed": 2}, {"chunk_size": 1}],
    ids=["whole", "seed-1", "seed-2", "byte-by-byte"],
)
async def test_invalid_utf8_is_replaced_and_counted(
    fake: FakeClarifai, split: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_sse(BROKEN, **split)  # type: ignore[arg-type]
    async with make_client(fake) as client:
        async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True) as stream:
            received = [c.choices[0].delta.content async for c in stream]
            assert stream.replaced_bytes == 3 and stream.complete
    assert received == ["caf\u00e9 \ufffd", " \u6f22\ufffd!", None]
    assert content(stream.completion) == "caf\u00e9 \ufffd \u6f22\ufffd!"
    assert "replaced 3 bytes of invalid UTF-8" in caplog.text


async def test_valid_stream_replaces_nothing(fake: FakeClarifai) -> None:
    fake.add_text("caf\u00e9 \U0001f600 \ufffd", chunks=3)
    async with make_client(fake) as client:
        async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True) as stream:
            await stream.get_final_completion()
            assert stream.replaced_bytes == 0


# -- the agent never takes a cut turn for an answer -------------------------------------------


async def test_agent_does_not_finalise_a_truncated_turn(fake: FakeClarifai) -> None:
    fake.add_chunks(text("The answer", " is"), done=False)
    async with make_client(fake) as client:
        agent = Agent(MODEL, [], client=client)
        seen: list[Any] = []
        with pytest.raises(StreamConnectionError) as info:
            async with agent.stream("question") as run:
                async for event in run:
                    seen.append(event)
    assert not any(isinstance(e, RunFinished) for e in seen)
    assert content(info.value.partial) == "The answer is"
    result = agent.last_result
    assert result is not None and result.output is None
    assert [m["role"] for m in result.messages] == ["user"]  # the cut answer is not kept


async def test_agent_retries_a_turn_cut_before_output(
    fake: FakeClarifai, sleeps: list[float]
) -> None:
    fake.add_chunks([make_chunk({"role": "assistant"})], done=False)
    fake.add_text("Whole answer.")
    async with make_client(fake) as client:
        result = await Agent(MODEL, [], client=client).run("question")
    assert result.output == "Whole answer." and fake.request_count == 2


async def test_agent_does_not_finalise_a_stream_closed_under_it(fake: FakeClarifai) -> None:
    """A model stream closed by other code (it then just ends) is not a final answer either."""
    fake.add_text("An answer that goes on and on", chunk_delay=0.01)
    async with make_client(fake) as client:
        agent = Agent(MODEL, [], client=client)
        seen: list[Any] = []
        with pytest.raises(StreamConnectionError, match="closed before its answer was complete"):
            async with agent.stream("question") as run:
                async for event in run:
                    seen.append(event)
                    if isinstance(event, events.ContentDelta):
                        turn = run._run._turn
                        assert turn is not None and turn.stream is not None
                        await turn.stream.aclose()
    assert [type(e).__name__ for e in seen] == ["ContentDelta"]
    assert agent.last_result is not None and agent.last_result.output is None


async def test_closing_the_client_after_output_keeps_its_error_and_the_partial(
    fake: FakeClarifai,
) -> None:
    fake.add_text("a long answer we will not read to the end", chunk_delay=0.05)
    client = make_client(fake)
    async with client:
        stream = await client.acompletion(model=MODEL, messages=MESSAGES, stream=True)
        first = await stream.__anext__()
        await client.aclose()
        received = [first.choices[0].delta.content or ""]
        with pytest.raises(ClientClosedError) as info:
            async for chunk in stream:  # what had been read already still comes first
                received.extend(c.delta.content or "" for c in chunk.choices)
    assert content(info.value.partial) == "".join(received)
