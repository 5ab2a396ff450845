"""aclarifai.hooks: emit() and its safety, the info objects, CallObserver, UsageTracker.

The last section runs the hooks through a real client against FakeClarifai; it is skipped until
``AsyncClarifai`` takes ``hooks=`` (see the integration plan in docs/extras.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from typing import Any

import pytest

import aclarifai
from aclarifai import AsyncClarifai, InternalServerError, Usage
from aclarifai.batch import abatch_completion
from aclarifai.errors import BadRequestError
from aclarifai.hooks import (
    REDACTED,
    CallObserver,
    ErrorInfo,
    Hooks,
    RequestInfo,
    ResponseInfo,
    UsageTracker,
    emit,
    observe,
    redact,
)
from aclarifai.testing import FakeClarifai

from .conftest import MODEL

PAT = "pat-sekret-42"
URL = "https://api.clarifai.com/v2/ext/openai/v1/chat/completions"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- emit -------------------------------------------------------------------------------------


async def test_emit_calls_sync_and_async_hooks_and_ignores_none() -> None:
    seen: list[tuple[str, object]] = []

    def sync_hook(info: object) -> None:
        seen.append(("sync", info))

    async def async_hook(info: object) -> None:
        await asyncio.sleep(0)
        seen.append(("async", info))

    await emit(sync_hook, 1)
    await emit(async_hook, 2)
    await emit(None, 3)
    await emit(lambda done, total: seen.append(("two", (done, total))), 4, 5)
    assert seen == [("sync", 1), ("async", 2), ("two", (4, 5))]


async def test_a_raising_hook_is_logged_and_swallowed(caplog: pytest.LogCaptureFixture) -> None:
    def broken(info: object) -> None:
        raise RuntimeError("metrics backend down")

    async def broken_async(info: object) -> None:
        raise KeyError("missing")

    with caplog.at_level(logging.ERROR, logger="aclarifai"):
        await emit(broken, "info")
        await emit(broken_async, "info")
    assert [r.name for r in caplog.records] == ["aclarifai", "aclarifai"]
    assert "broken" in caplog.records[0].getMessage()
    assert "broken_async" in caplog.records[1].getMessage()
    assert caplog.records[0].exc_info is not None  # the traceback is kept for debugging
    assert "metrics backend down" in caplog.text


async def test_cancellation_inside_a_hook_still_propagates() -> None:
    async def cancelled(info: object) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await emit(cancelled, "info")


# -- Hooks and the info objects -----------------------------------------------------------------


def test_hooks_are_mutable_and_infos_are_frozen() -> None:
    hooks = Hooks()
    assert not hooks.enabled
    hooks.on_error = print
    assert hooks.enabled and hooks.on_error is print
    info = RequestInfo(method="GET", url=URL, model=None, stream=False, attempt=0, body=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.attempt = 1  # type: ignore[misc]


def test_observe_is_free_without_hooks() -> None:
    assert observe(None, "POST", URL, {"model": MODEL}, stream=False) is None
    assert observe(Hooks(), "POST", URL, {"model": MODEL}, stream=False) is None
    observer = observe(Hooks(on_response=print), "POST", URL, {"model": MODEL}, stream=False)
    assert isinstance(observer, CallObserver)


def test_redact_masks_credentials_keeps_the_rest_and_copies() -> None:
    body: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 10,
        "max_completion_tokens": 20,
        "messages": [{"role": "user", "content": "hi"}],
        "mcp_servers": [{"url": "https://mcp.example", "headers": {"Authorization": f"Bearer {PAT}"}}],
        "api_key": PAT,
        "X-Api-Key": PAT,
        "token": None,
    }
    clean = redact(body)
    assert clean["mcp_servers"][0]["headers"]["Authorization"] == REDACTED
    assert clean["api_key"] == clean["X-Api-Key"] == REDACTED
    assert clean["token"] is None  # nothing to hide
    assert clean["max_tokens"] == 10 and clean["max_completion_tokens"] == 20
    assert PAT not in repr(clean)
    clean["messages"][0]["content"] = "changed"
    assert body["messages"][0]["content"] == "hi"  # hooks cannot alter the caller's messages
    assert body["api_key"] == PAT


async def test_observer_times_attempts_and_reports_them() -> None:
    clock = FakeClock()
    requests: list[RequestInfo] = []
    responses: list[ResponseInfo] = []
    errors: list[ErrorInfo] = []
    hooks = Hooks(on_request=requests.append, on_response=responses.append, on_error=errors.append)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "api_key": PAT}
    observer = observe(hooks, "POST", f"https://user:{PAT}@api.example/v1", body, stream=True, clock=clock)
    assert observer is not None

    await observer.attempt(0)
    clock.now += 2.0
    failure = InternalServerError("boom", status_code=500)
    await observer.error(failure, will_retry=True)
    await observer.attempt(1)
    clock.now += 0.25
    observer.chunk()
    clock.now += 0.5
    observer.chunk()  # only the first chunk of an attempt counts
    usage = Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
    await observer.response(status=200, request_id="req-1", usage=usage, model=None)

    assert [r.attempt for r in requests] == [0, 1]
    assert requests[0].url == "https://api.example/v1"  # user:password never shown
    assert requests[0].model == MODEL and requests[0].stream is True
    assert requests[0].body is not None and requests[0].body["api_key"] == REDACTED
    [error] = errors
    assert error.error is failure and error.will_retry and error.latency == 2.0
    assert error.request.attempt == 0
    [response] = responses
    assert response.time_to_first_chunk == 0.25 and response.latency == 0.75
    assert response.usage == usage and response.status == 200 and response.request_id == "req-1"
    assert response.model == MODEL  # the server named none: the requested one
    assert response.request is requests[1]
    everything = repr(requests) + repr(responses) + repr(errors)
    assert PAT not in everything


async def test_observer_without_the_matching_hook_does_nothing() -> None:
    seen: list[object] = []
    observer = observe(Hooks(on_request=seen.append), "GET", URL, None, stream=False)
    assert observer is not None
    await observer.attempt(0)
    await observer.response(status=200, request_id=None, usage=None, model="m")
    await observer.error(InternalServerError("x", status_code=500), will_retry=False)
    assert len(seen) == 1 and observer.request.body is None and observer.request.model is None


# -- UsageTracker -----------------------------------------------------------------------------


def _response(model: str, prompt: int, completion: int) -> ResponseInfo:
    request = RequestInfo(method="POST", url=URL, model=model, stream=False, attempt=0, body=None)
    usage = Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)
    return ResponseInfo(
        status=200, request_id=None, latency=0.1, time_to_first_chunk=None, usage=usage,
        model="served-name", request=request,
    )


def test_usage_tracker_sums_per_requested_model_and_prices_it() -> None:
    tracker = UsageTracker()
    tracker(_response("a", 1_000_000, 500_000))
    tracker(_response("a", 1_000_000, 500_000))
    tracker(_response("b", 10, 0))
    no_usage = dataclasses.replace(_response("c", 0, 0), usage=None)
    tracker(no_usage)
    assert tracker.responses == 4
    assert set(tracker.by_model) == {"a", "b"}
    assert tracker.by_model["a"].prompt_tokens == 2_000_000
    assert tracker.total.total_tokens == 3_000_010
    assert tracker.cost({"a": (0.10, 0.40), "b": (1.0, 1.0)}) == pytest.approx(0.6 + 0.00001)
    with pytest.raises(KeyError, match="no price for b"):
        tracker.cost({"a": (0.1, 0.4)})


# -- through a real client (once AsyncClarifai takes hooks=) ------------------------------------

integrated = pytest.mark.skipif(
    "hooks" not in inspect.signature(AsyncClarifai).parameters,
    reason="AsyncClarifai(hooks=...) is not integrated yet",
)
MESSAGES = [{"role": "user", "content": "Hello there"}]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def hooks(self) -> Hooks:
        async def on_response(info: ResponseInfo) -> None:  # async hooks work too
            self.events.append(("response", info))

        return Hooks(
            on_request=lambda info: self.events.append(("request", info)),
            on_response=on_response,
            on_error=lambda info: self.events.append(("error", info)),
        )

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]


def _client(fake: FakeClarifai, hooks: Hooks, max_retries: int = 0) -> AsyncClarifai:
    return AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url, max_retries=max_retries,
        hooks=hooks,  # type: ignore[call-arg]
    )


@integrated
async def test_hooks_see_a_non_stream_call(fake: FakeClarifai) -> None:
    recorder = Recorder()
    fake.add_text("four words of answer", usage={"prompt_tokens": 5, "completion_tokens": 4})
    async with _client(fake, recorder.hooks()) as client:
        await client.acompletion(MODEL, MESSAGES)
    assert recorder.kinds() == ["request", "response"]
    request, response = (info for _, info in recorder.events)
    assert request.method == "POST" and request.url == fake.chat_url
    assert request.model == MODEL and request.stream is False and request.attempt == 0
    assert request.body["messages"] == MESSAGES
    assert response.status == 200 and response.request_id.startswith("fake-req-")
    assert response.usage.total_tokens == 9 and response.time_to_first_chunk is None
    assert response.latency >= 0 and response.request is request
    assert fake.api_key not in repr(recorder.events)


@integrated
async def test_hooks_see_retries_and_the_final_error(fake: FakeClarifai) -> None:
    recorder = Recorder()
    fake.add_error(503, headers={"Retry-After": "0"})
    fake.add_text("ok")
    fake.add_error(400)
    async with _client(fake, recorder.hooks(), max_retries=1) as client:
        await client.acompletion(MODEL, MESSAGES)
        with pytest.raises(BadRequestError):
            await client.acompletion(MODEL, MESSAGES)
    assert recorder.kinds() == ["request", "error", "request", "response", "request", "error"]
    first_error, final_error = (info for kind, info in recorder.events if kind == "error")
    assert isinstance(first_error.error, InternalServerError) and first_error.will_retry
    assert first_error.request.attempt == 0
    assert [info.attempt for kind, info in recorder.events if kind == "request"] == [0, 1, 0]
    assert isinstance(final_error.error, BadRequestError) and not final_error.will_retry


@integrated
@pytest.mark.parametrize("stream", [False, True])
async def test_error_info_carries_the_delay_before_the_retry(fake: FakeClarifai, stream: bool) -> None:
    recorder = Recorder()
    fake.add_error(503, headers={"retry-after-ms": "20"})
    fake.add_error(429, headers={"Retry-After": "0"})
    fake.add_error(500, headers={"retry-after-ms": "1"})
    async with _client(fake, recorder.hooks(), max_retries=2) as client:
        with pytest.raises(InternalServerError):
            if stream:
                async with client.acompletion(MODEL, MESSAGES, stream=True):
                    pass
            else:
                await client.acompletion(MODEL, MESSAGES)
    errors = [info for kind, info in recorder.events if kind == "error"]
    assert [(e.request.attempt, e.will_retry, e.delay) for e in errors] == [
        (0, True, 0.02), (1, True, 0.0), (2, False, None)]
    assert fake.request_count == 3


@integrated
async def test_hooks_see_a_stream_end_with_its_usage(fake: FakeClarifai) -> None:
    recorder = Recorder()
    fake.add_text("one two three", usage={"prompt_tokens": 2, "completion_tokens": 3})
    async with _client(fake, recorder.hooks()) as client:
        text = [c.choices[0].delta.content async for c in client.acompletion(MODEL, MESSAGES) if c.choices]
    assert "".join(t or "" for t in text) == "one two three"
    assert recorder.kinds() == ["request", "response"]
    request, response = (info for _, info in recorder.events)
    assert request.stream is True and request.body["stream"] is True
    assert response.usage.total_tokens == 5
    assert response.time_to_first_chunk is not None
    assert response.time_to_first_chunk <= response.latency


@integrated
async def test_a_raising_hook_never_breaks_the_call(
    fake: FakeClarifai, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(info: object) -> None:
        raise RuntimeError("hook bug")

    fake.add_text("still fine")
    async with _client(fake, Hooks(on_request=broken, on_response=broken)) as client:
        with caplog.at_level(logging.ERROR, logger="aclarifai"):
            completion = await client.acompletion(MODEL, MESSAGES)
    assert completion.choices[0].message.content == "still fine"
    assert [r.name for r in caplog.records] == ["aclarifai", "aclarifai"]
    assert all("hook bug" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


@integrated
async def test_hooks_can_be_set_later_and_track_a_batch(fake: FakeClarifai) -> None:
    tracker = UsageTracker()
    async with _client(fake, Hooks()) as client:
        client.hooks.on_response = tracker  # type: ignore[attr-defined]
        results = await abatch_completion(
            MODEL, [[{"role": "user", "content": f"question {i}"}] for i in range(4)], client=client
        )
    assert tracker.responses == 4 and results.ok
    assert tracker.total.total_tokens == results.usage.total_tokens > 0
    assert list(tracker.by_model) == [aclarifai.resolve_model(MODEL)]
