"""FakeClarifai refuses what Clarifai refuses, and its demo model honours ``max_tokens``, ``n``
and ``stop``: loopback HTTP, with a plain aiohttp client and with the library's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from aclarifai import AsyncClarifai, BadRequestError, NotFoundError, RateLimitError, _retry
from aclarifai.testing import DEFAULT_RETRY_AFTER, FakeClarifai

from .test_testing import MODEL, chat_body, post, stream

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["location", "days"],
        },
    },
}
# The demo's answer to "hi": 'You said: "hi". I am FakeClarifai\'s demo model.' (8 words)
DEMO_HI = 'You said: "hi". I am FakeClarifai\'s demo model.'


@pytest.fixture
async def fake() -> AsyncIterator[FakeClarifai]:
    async with FakeClarifai() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


# -- models ------------------------------------------------------------------------------------


async def test_a_url_to_no_model_gets_clarifai_404(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    fake.add_text("scripted")
    missing = "https://clarifai.com/openai/chat-completion/models/gpt-4o"
    resp, _ = await post(session, fake, chat_body(model=missing))
    body = await resp.json()
    assert resp.status == 404
    assert body["status"]["code"] == 21200
    assert body["status"]["description"] == "Model does not exist"
    assert "'gpt-4o'" in body["status"]["details"]
    assert body["status"]["req_id"] == resp.headers["X-Request-Id"]
    assert fake.pending == 1  # refused before any scripted reply is taken
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url) as client:
        with pytest.raises(NotFoundError) as info:
            await client.acompletion(model=missing, messages=[{"role": "user", "content": "x"}])
    assert info.value.code == 21200 and info.value.status_code == 404
    assert fake.request_count == 2  # a 404 is not retried


@pytest.mark.parametrize("model", ["gpt-4o", "openai/gpt-oss-20b", "", "https://example.com/a/b/models/c"])
async def test_a_reference_that_is_no_model_url_gets_400(
    fake: FakeClarifai, session: aiohttp.ClientSession, model: str
) -> None:
    resp, _ = await post(session, fake, chat_body(model=model))
    body = await resp.json()
    assert resp.status == 400
    if model:  # an empty model is a malformed body (OpenAI-style 400)
        assert body["status"]["code"] == 11102
        assert "not a Clarifai model URL" in body["status"]["details"]


async def test_every_spelling_of_a_served_model_is_served(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    for model in (
        MODEL,
        MODEL + "/",
        MODEL + "/versions/1f2e3d",
        "openai/chat-completion/models/gpt-oss-20b",
        "https://www.clarifai.com/openai/chat-completion/models/gpt-oss-120b",
    ):
        resp, _ = await post(session, fake, chat_body(model=model))
        assert resp.status == 200, model


async def test_models_and_accept_any_model(session: aiohttp.ClientSession) -> None:
    mine = "https://clarifai.com/acme/support/models/helper"
    async with FakeClarifai(models=[mine]) as fake:
        assert (await post(session, fake, chat_body(model=mine)))[0].status == 200
        assert (await post(session, fake, chat_body()))[0].status == 404  # not in models=
    async with FakeClarifai(accept_any_model=True) as fake:
        for model in ("gpt-4o", mine):
            assert (await post(session, fake, chat_body(model=model)))[0].status == 200
    with pytest.raises(ValueError, match="not Clarifai model URLs"):
        FakeClarifai(models=["gpt-4o"])


# -- max_tokens, n, stop -----------------------------------------------------------------------


async def test_max_tokens_truncates_the_demo_answer(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    resp, _ = await post(session, fake, chat_body(max_tokens=3))
    completion = await resp.json()
    choice = completion["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == ('You said: "hi".', "length")
    assert completion["usage"]["completion_tokens"] == 3
    chunks = await stream(session, fake, chat_body(max_completion_tokens=2))
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "You said:"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"
    resp, _ = await post(session, fake, chat_body(max_tokens=8))  # exactly enough
    assert (await resp.json())["choices"][0]["finish_reason"] == "stop"


async def test_max_tokens_counts_reasoning_and_cuts_tool_arguments(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    resp, _ = await post(session, fake, chat_body(reasoning_effort="low", max_tokens=2))
    message = (await resp.json())["choices"][0]["message"]
    assert message["reasoning_content"] == "The user" and message["content"] == ""
    body = chat_body("weather in Paris?", tools=[WEATHER], reasoning_effort="low")
    resp, _ = await post(session, fake, body)
    choice = (await resp.json())["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    reasoning = choice["message"]["reasoning_content"]  # 8 words: the whole budget
    resp, _ = await post(session, fake, {**body, "max_tokens": len(reasoning.split())})
    choice = (await resp.json())["choices"][0]
    assert choice["message"]["reasoning_content"] == reasoning
    assert "tool_calls" not in choice["message"] and choice["finish_reason"] == "length"


async def test_n_returns_n_choices(fake: FakeClarifai, session: aiohttp.ClientSession) -> None:
    resp, _ = await post(session, fake, chat_body(n=3))
    completion = await resp.json()
    assert [c["index"] for c in completion["choices"]] == [0, 1, 2]
    assert {c["message"]["content"] for c in completion["choices"]} == {DEMO_HI}
    assert completion["usage"]["completion_tokens"] == 3 * 8
    chunks = await stream(session, fake, chat_body(n=2))
    for index in (0, 1):
        mine = [c["choices"][0] for c in chunks if c["choices"] and c["choices"][0]["index"] == index]
        assert "".join(c["delta"].get("content", "") for c in mine) == DEMO_HI
        assert mine[-1]["finish_reason"] == "stop"


async def test_stop_ends_the_answer_before_the_stop_string(
    fake: FakeClarifai, session: aiohttp.ClientSession
) -> None:
    resp, _ = await post(session, fake, chat_body(stop="I am"))
    choice = (await resp.json())["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == ('You said: "hi". ', "stop")
    chunks = await stream(session, fake, chat_body(stop=["demo", ":"]))
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "You said"


@pytest.mark.parametrize(
    "extra",
    [{"n": 0}, {"n": 129}, {"n": "2"}, {"max_tokens": 0}, {"max_tokens": True},
     {"max_completion_tokens": -1}, {"stop": ["a", "b", "c", "d", "e"]}, {"stop": 3}, {"stop": [""]}],
)
async def test_out_of_range_options_get_400(
    fake: FakeClarifai, session: aiohttp.ClientSession, extra: dict[str, Any]
) -> None:
    resp, _ = await post(session, fake, chat_body(**extra))
    assert resp.status == 400
    assert list(extra)[0] in (await resp.json())["error"]["message"]


@pytest.mark.parametrize("options", [None, {"include_usage": False}, {"include_usage": True}])
async def test_streams_end_with_usage_whatever_include_usage_says(
    fake: FakeClarifai, session: aiohttp.ClientSession, options: dict[str, Any] | None
) -> None:
    """Clarifai forces usage reporting on: the last chunk has ``choices: []`` and usage."""
    body = chat_body() if options is None else chat_body(stream_options=options)
    chunks = await stream(session, fake, body)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 8
    assert all("usage" not in c for c in chunks[:-1])


# -- rate limits -------------------------------------------------------------------------------


async def test_a_scripted_429_carries_retry_after(
    fake: FakeClarifai, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add_error(429)
    fake.add_error(429, headers={"retry-after-ms": "5"})
    fake.add_error(429, headers={"retry-after": "0"})
    resp, _ = await post(session, fake, chat_body())
    assert (resp.status, resp.headers["Retry-After"]) == (429, DEFAULT_RETRY_AFTER)
    resp, _ = await post(session, fake, chat_body())
    assert "Retry-After" not in resp.headers and resp.headers["retry-after-ms"] == "5"
    resp, _ = await post(session, fake, chat_body())
    assert resp.headers.getall("Retry-After") == ["0"]

    waits: list[float] = []

    async def record(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr(_retry, "sleep", record)
    fake.add_error(429)
    fake.add_text("after the wait")
    async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url) as client:
        completion = await client.acompletion(model=MODEL, messages=[{"role": "user", "content": "x"}])
        assert completion.choices[0].message.content == "after the wait"
        assert waits == [float(DEFAULT_RETRY_AFTER)]
        fake.add_error(429, times=3)
        with pytest.raises(RateLimitError):
            await client.acompletion(model=MODEL, messages=[{"role": "user", "content": "x"}])
        with pytest.raises(BadRequestError):
            await client.acompletion(model=MODEL, messages=[{"role": "user", "content": "x"}], n=0)
