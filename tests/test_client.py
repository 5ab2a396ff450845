"""The client over real loopback HTTP: call styles, request bodies, errors, secrets."""

from __future__ import annotations

import asyncio
import logging
import traceback

import pytest

import aclarifai
from aclarifai import (
    AsyncClarifai,
    ChatCompletion,
    CompletionStream,
    MissingAPIKeyError,
)
from aclarifai.testing import FakeClarifai

from .conftest import MODEL

MESSAGES = [{"role": "user", "content": "Hello there"}]


async def test_module_level_streaming(fake: FakeClarifai) -> None:
    fake.add_text("one two three", chunks=3)
    pieces = []
    async for chunk in aclarifai.acompletion(
        model=MODEL, messages=MESSAGES, api_key=fake.api_key, base_url=fake.base_url
    ):
        assert isinstance(chunk, aclarifai.ChatCompletionChunk)
        pieces.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(pieces) == "one two three"
    body = fake.requests[-1].json
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["model"] == MODEL


async def test_await_without_stream_is_a_non_stream_completion(fake: FakeClarifai) -> None:
    fake.add_text("plain answer")
    completion = await aclarifai.acompletion(
        model="openai/chat-completion/models/gpt-oss-20b", messages=MESSAGES,
        api_key=fake.api_key, base_url=fake.base_url,
    )
    assert isinstance(completion, ChatCompletion)
    assert completion.choices[0].message.content == "plain answer"
    assert completion.choices[0].finish_reason == "stop"
    body = fake.requests[-1].json
    assert body["stream"] is False and "stream_options" not in body
    assert body["model"] == MODEL


async def test_await_with_stream_true_returns_the_open_stream(fake: FakeClarifai) -> None:
    fake.add_text("streamed", reasoning="thinking first")
    stream = await aclarifai.acompletion(
        model=MODEL, messages=MESSAGES, stream=True, api_key=fake.api_key, base_url=fake.base_url
    )
    assert isinstance(stream, CompletionStream)
    assert stream.request_id is not None and stream.request_id.startswith("fake-req-")
    assert stream.response_headers["Content-Type"].startswith("text/event-stream")
    completion = await stream.get_final_completion()
    message = completion.choices[0].message
    assert (message.content, message.reasoning_content) == ("streamed", "thinking first")
    assert completion.usage is not None and completion.usage.total_tokens > 0


async def test_async_with_and_openai_alias(client: AsyncClarifai, fake: FakeClarifai) -> None:
    fake.add_text("in a context")
    async with client.acompletion(model=MODEL, messages=MESSAGES, stream=True) as stream:
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "in a context"
    fake.add_text("via create")
    completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content == "via create"
    assert fake.connections_opened >= 1


async def test_params_go_into_the_body_and_none_is_dropped(
    client: AsyncClarifai, fake: FakeClarifai
) -> None:
    await client.acompletion(
        model=MODEL, messages=MESSAGES, temperature=0.2, max_tokens=None, top_k=5,
        reasoning_effort="low", extra_body={"mcp_servers": ["x"]}, tools=None,
    )
    body = fake.requests[-1].json
    assert body["temperature"] == 0.2 and body["top_k"] == 5
    assert body["reasoning_effort"] == "low" and body["mcp_servers"] == ["x"]
    assert "max_tokens" not in body and "tools" not in body and "extra_body" not in body


async def test_headers_identify_the_library(client: AsyncClarifai, fake: FakeClarifai) -> None:
    await client.acompletion(model=MODEL, messages=MESSAGES, extra_headers={"X-Trace": "t1"})
    headers = fake.requests[-1].headers
    assert headers["User-Agent"].startswith(f"aclarifai/{aclarifai.__version__}")
    assert headers["Authorization"] == "Bearer ***"  # masked by the fake, sent as Bearer
    assert headers["X-Trace"] == "t1"


@pytest.mark.parametrize("suffix", ["", "/", "/v2/ext/openai/v1", "/v2/ext/openai/v1/"])
async def test_base_url_root_or_full_base(fake: FakeClarifai, suffix: str) -> None:
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url + suffix) as client:
        completion = await client.acompletion(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content


async def test_base_url_from_environment(
    fake: FakeClarifai, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLARIFAI_API_BASE", fake.base_url)
    monkeypatch.setenv("CLARIFAI_PAT", fake.api_key)
    completion = await aclarifai.acompletion(model=MODEL, messages=MESSAGES)
    assert completion.choices[0].message.content


def test_no_pat_is_a_clear_error_before_any_request() -> None:
    with pytest.raises(MissingAPIKeyError, match="CLARIFAI_PAT"):
        aclarifai.acompletion(model=MODEL, messages=MESSAGES)
    with pytest.raises(aclarifai.AuthenticationError, match="CLARIFAI_PAT"):
        AsyncClarifai()


def test_pat_from_clarifai_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARIFAI_API_KEY", "litellm-style-key")
    client = AsyncClarifai()
    assert "litellm-style-key" not in repr(client)


async def test_wrong_pat_is_an_authentication_error(fake: FakeClarifai) -> None:
    secret = "wrong-secret-pat-123"
    with pytest.raises(aclarifai.AuthenticationError) as info:
        await aclarifai.acompletion(
            model=MODEL, messages=MESSAGES, api_key=secret, base_url=fake.base_url
        )
    error = info.value
    assert error.status_code == 401 and error.code == 11009
    assert error.request_id is not None
    rendered = str(error) + repr(error) + "".join(traceback.format_exception(error))
    assert secret not in rendered


async def test_pat_never_logged_or_shown(
    fake: FakeClarifai, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aclarifai")
    fake.add_error(503)
    fake.add_text("ok")
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url, max_retries=1) as c:
        assert fake.api_key not in repr(c) and fake.api_key not in str(vars(c))
        request = c.acompletion(model=MODEL, messages=MESSAGES)
        completion = await request
    assert completion.choices[0].message.content == "ok"
    assert any("retrying" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert fake.api_key not in record.getMessage()


def test_bad_input_is_rejected_before_any_request() -> None:
    with pytest.raises(TypeError, match="list of message dicts"):
        aclarifai.acompletion(model=MODEL, messages="hi", api_key="k")
    with pytest.raises(ValueError, match="empty"):
        aclarifai.acompletion(model=MODEL, messages=[], api_key="k")
    with pytest.raises(ValueError, match="accepted model forms"):
        aclarifai.acompletion(model="gpt-4o", messages=MESSAGES, api_key="k")
    with pytest.raises(aclarifai.ConfigurationError, match="max_retries"):
        AsyncClarifai(api_key="k", max_retries=-1)
    with pytest.raises(aclarifai.ConfigurationError, match="plain http"):
        AsyncClarifai(api_key="k", base_url="http://api.example.com")


async def test_default_client_is_per_loop_and_closed_with_it(fake: FakeClarifai) -> None:
    """Module-level calls share one pooled session on this loop."""
    for _ in range(3):
        await aclarifai.acompletion(
            model=MODEL, messages=MESSAGES, api_key=fake.api_key, base_url=fake.base_url
        )
    assert fake.connections_opened == 1
    await aclarifai.aclose_default_clients()


def test_default_client_closes_when_asyncio_run_ends() -> None:
    """No "Unclosed client session" when a loop ends with a default client open."""

    async def scenario() -> str | None:
        async with FakeClarifai() as fake:
            completion = await aclarifai.acompletion(
                model=MODEL, messages=MESSAGES, api_key=fake.api_key, base_url=fake.base_url
            )
            return completion.choices[0].message.content

    assert asyncio.run(scenario())
    assert asyncio.run(scenario())  # a second loop gets its own client


async def test_message_objects_can_be_sent_back(client: AsyncClarifai, fake: FakeClarifai) -> None:
    fake.add_text("first")
    completion = await client.acompletion(model=MODEL, messages=MESSAGES)
    history = [*MESSAGES, completion.choices[0].message, {"role": "user", "content": "more"}]
    await client.acompletion(model=MODEL, messages=history)
    sent = fake.requests[-1].json["messages"]
    assert sent[1] == {"role": "assistant", "content": "first"} | {
        k: v for k, v in sent[1].items() if k not in ("role", "content")
    }
    assert sent[1]["content"] == "first"


async def test_client_bound_to_its_loop_gives_a_clear_error(fake: FakeClarifai) -> None:
    client = AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url)
    await client.acompletion(model=MODEL, messages=MESSAGES)

    def other_loop() -> None:
        async def use() -> None:
            await client.acompletion(model=MODEL, messages=MESSAGES)

        with pytest.raises(aclarifai.ConfigurationError, match="another event loop"):
            asyncio.run(use())

    await asyncio.to_thread(other_loop)
    await client.aclose()
