"""Gateways and other OpenAI-compatible hosts: base URLs used as given, aliases sent verbatim.

A small aiohttp app on loopback stands in for a gateway (a LiteLLM proxy): it serves
``/v1/chat/completions`` and ``/v1/models``, records what it received, and answers with the
headers a gateway sends (a request id under its own name, say). Clarifai's side is FakeClarifai.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

import aclarifai
from aclarifai import (
    Agent,
    AsyncClarifai,
    InternalServerError,
    InvalidModelError,
    NotFoundError,
    StreamError,
)
from aclarifai._config import OPENAI_PATH, is_clarifai_api, resolve_base_url
from aclarifai._request_id import REQUEST_ID_HEADERS, request_id_of
from aclarifai.testing import FakeClarifai, make_chunk

from .conftest import MODEL

ALIAS = "clarifai-gpt"
GATEWAY_KEY = "sk-gateway-master-key"
MESSAGES = [{"role": "user", "content": "hi"}]


@dataclass
class Gateway:
    """What the stand-in gateway received, and what it answers next."""

    url: str = ""
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    """``(method, path, json body)`` of each request, in order."""
    headers: dict[str, str] = field(default_factory=lambda: {"x-litellm-call-id": "litellm-1"})
    """Added to every answer."""
    errors: list[tuple[int, Any]] = field(default_factory=list)
    """``(status, body)`` answered (in order) before any normal answer."""
    stream_error: dict[str, Any] | None = None
    """An error event sent first in the next stream (then the stream ends)."""

    @property
    def base_url(self) -> str:
        return self.url + "/v1"


async def _chat(gateway: Gateway, request: web.Request) -> web.StreamResponse:
    body = await request.json()
    gateway.requests.append((request.method, request.path, body))
    if request.headers.get("Authorization") != f"Bearer {GATEWAY_KEY}":
        return web.json_response({"error": {"message": "bad key", "code": "401"}}, status=401)
    if gateway.errors:
        status, error = gateway.errors.pop(0)
        return web.json_response(error, status=status, headers=gateway.headers)
    text = f"via gateway as {body['model']}"
    if not body.get("stream"):
        return web.json_response(
            {
                "id": "gw-1", "object": "chat.completion", "created": 1, "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 4, "total_tokens": 5},
            },
            headers=gateway.headers,
        )
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", **gateway.headers})
    await response.prepare(request)
    if gateway.stream_error is not None:
        error, gateway.stream_error = gateway.stream_error, None
        await response.write(b"data: " + orjson.dumps(error) + b"\n\n")
        await response.write_eof()
        return response
    for chunk in (
        make_chunk({"role": "assistant", "content": text}, model=body["model"]),
        make_chunk(finish_reason="stop", model=body["model"]),
    ):
        await response.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def _models(gateway: Gateway, request: web.Request) -> web.Response:
    gateway.requests.append((request.method, request.path, None))
    data = [{"id": ALIAS, "object": "model", "owned_by": "litellm"}]
    return web.json_response({"object": "list", "data": data}, headers=gateway.headers)


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    state = Gateway()
    app = web.Application()

    async def chat(request: web.Request) -> web.StreamResponse:
        return await _chat(state, request)

    async def models(request: web.Request) -> web.Response:
        return await _models(state, request)

    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        await aclarifai.aclose_default_clients()
        await runner.cleanup()


def gateway_client(gateway: Gateway, **options: Any) -> AsyncClarifai:
    return AsyncClarifai(api_key=GATEWAY_KEY, base_url=gateway.base_url, **options)


def answer(completion: Any) -> str:
    assert isinstance(completion, aclarifai.ChatCompletion)
    content = completion.choices[0].message.content
    assert isinstance(content, str)
    return content


async def streamed(request: Any) -> str:
    return "".join(
        [choice.delta.content or "" async for chunk in request for choice in chunk.choices]
    )


# -- which URL -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "resolved", "clarifai"),
    [
        ("https://api.clarifai.com", "https://api.clarifai.com" + OPENAI_PATH, True),
        ("https://api.clarifai.com/", "https://api.clarifai.com" + OPENAI_PATH, True),
        ("api.clarifai.com", "https://api.clarifai.com" + OPENAI_PATH, True),
        ("https://api.clarifai.com" + OPENAI_PATH, "https://api.clarifai.com" + OPENAI_PATH, True),
        ("https://api.clarifai.com" + OPENAI_PATH + "/chat/completions",
         "https://api.clarifai.com" + OPENAI_PATH, True),
        ("http://gateway:4000/v1", "http://gateway:4000/v1", False),
        ("http://gateway:4000/v1/", "http://gateway:4000/v1", False),
        ("http://gateway:4000/v1/chat/completions", "http://gateway:4000/v1", False),
        ("https://llm.corp.example/openai/clarifai/v1", "https://llm.corp.example/openai/clarifai/v1",
         False),
        ("https://llm.corp.example", "https://llm.corp.example" + OPENAI_PATH, True),
        ("https://clarifai.internal.example" + OPENAI_PATH,
         "https://clarifai.internal.example" + OPENAI_PATH, True),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080" + OPENAI_PATH, True),
    ],
)
def test_a_path_is_used_as_given_and_a_bare_root_gets_clarifais_path(
    given: str, resolved: str, clarifai: bool
) -> None:
    assert resolve_base_url(given, allow_insecure_http=True) == resolved
    assert is_clarifai_api(resolved) is clarifai


def test_clarifai_api_base_follows_the_same_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARIFAI_PAT", "k")
    monkeypatch.setenv("CLARIFAI_API_BASE", "https://api.clarifai.com")
    assert AsyncClarifai().base_url == "https://api.clarifai.com" + OPENAI_PATH
    monkeypatch.setenv("CLARIFAI_API_BASE", "https://gateway.example.com/v1")
    client = AsyncClarifai()
    assert client.base_url == "https://gateway.example.com/v1"
    assert client.acompletion(model=ALIAS, messages=MESSAGES).body["model"] == ALIAS


# -- requests through a gateway --------------------------------------------------------------------


async def test_the_client_posts_to_the_gateways_path_with_the_alias(gateway: Gateway) -> None:
    async with gateway_client(gateway) as client:
        assert answer(await client.acompletion(model=ALIAS, messages=MESSAGES)) == (
            f"via gateway as {ALIAS}"
        )
        assert await streamed(client.acompletion(model=ALIAS, messages=MESSAGES)) == (
            f"via gateway as {ALIAS}"
        )
        completion = await client.chat.completions.create(model=ALIAS, messages=MESSAGES)
        assert answer(completion) == f"via gateway as {ALIAS}"
        stream = await client.chat.completions.create(model=ALIAS, messages=MESSAGES, stream=True)
        async with stream:
            final = await stream.get_final_completion()
        assert stream.request_id == "litellm-1"  # the gateway's own request id header
        assert answer(final) == f"via gateway as {ALIAS}"
    assert [(method, path, body["model"]) for method, path, body in gateway.requests] == [
        ("POST", "/v1/chat/completions", ALIAS)
    ] * 4


async def test_a_clarifai_reference_through_a_gateway_is_still_made_canonical(
    gateway: Gateway,
) -> None:
    async with gateway_client(gateway) as client:
        await client.acompletion(model="openai/chat-completion/models/gpt-oss-20b", messages=MESSAGES)
        await client.acompletion(model="clarifai/openai.chat-completion.gpt-oss-20b", messages=MESSAGES)
        await client.acompletion(model="gpt-4o-mini", messages=MESSAGES)
        await client.acompletion(model="openai/gpt-4o", messages=MESSAGES)
    assert [body["model"] for _, _, body in gateway.requests] == [MODEL, MODEL, "gpt-4o-mini",
                                                                  "openai/gpt-4o"]


async def test_the_module_function_with_a_gateway_base_url(gateway: Gateway) -> None:
    completion = await aclarifai.acompletion(
        model=ALIAS, messages=MESSAGES, api_key=GATEWAY_KEY, base_url=gateway.base_url
    )
    assert answer(completion) == f"via gateway as {ALIAS}"
    text = await streamed(aclarifai.acompletion(
        model=ALIAS, messages=MESSAGES, api_key=GATEWAY_KEY, base_url=gateway.base_url
    ))
    assert text == f"via gateway as {ALIAS}"
    assert [path for _, path, _ in gateway.requests] == ["/v1/chat/completions"] * 2


async def test_the_module_function_with_the_gateway_in_the_environment(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLARIFAI_API_BASE", gateway.base_url)
    monkeypatch.setenv("CLARIFAI_PAT", GATEWAY_KEY)
    assert answer(await aclarifai.acompletion(model=ALIAS, messages=MESSAGES)) == (
        f"via gateway as {ALIAS}"
    )


async def test_an_agent_with_an_alias_and_a_gateway(gateway: Gateway) -> None:
    agent = Agent(model=ALIAS, api_key=GATEWAY_KEY, base_url=gateway.base_url)
    result = await agent.run("hi")
    assert result.output == f"via gateway as {ALIAS}"
    async with gateway_client(gateway) as client:
        result = await Agent(model=ALIAS, client=client).run("hi")
    assert result.output == f"via gateway as {ALIAS}"
    assert [body["model"] for _, _, body in gateway.requests] == [ALIAS, ALIAS]


async def test_models_list_at_the_gateway(gateway: Gateway) -> None:
    async with gateway_client(gateway) as client:
        models = await client.models.list()
    assert [model.id for model in models] == [ALIAS]
    assert gateway.requests == [("GET", "/v1/models", None)]


async def test_batches_through_a_gateway(gateway: Gateway) -> None:
    inputs = [[{"role": "user", "content": f"q{i}"}] for i in range(3)]
    results = await aclarifai.abatch_completion(
        ALIAS, inputs, api_key=GATEWAY_KEY, base_url=gateway.base_url
    )
    assert results.ok and [answer(c) for c in results] == [f"via gateway as {ALIAS}"] * 3
    async with gateway_client(gateway) as client:
        stream = aclarifai.abatch_stream(ALIAS, inputs, client=client)
        async with contextlib.aclosing(stream) as items:
            rows = [item.to_row() async for item in items]
    assert {row["model"] for row in rows} == {ALIAS}
    assert all(row["error_type"] is None for row in rows)
    assert [body["model"] for _, _, body in gateway.requests] == [ALIAS] * 6


async def test_fallback_aliases_through_a_gateway(gateway: Gateway) -> None:
    gateway.errors.append((503, {"error": {"message": "primary down", "code": "503"}}))
    async with gateway_client(gateway, max_retries=0) as client:
        completion = await client.acompletion(
            model=ALIAS, messages=MESSAGES, fallbacks=["clarifai-backup"]
        )
    assert answer(completion) == "via gateway as clarifai-backup"
    assert [body["model"] for _, _, body in gateway.requests] == [ALIAS, "clarifai-backup"]


# -- on Clarifai's API, a bad reference still raises before any request -------------------------


async def test_on_clarifai_a_bad_reference_raises_before_any_request() -> None:
    async with FakeClarifai() as fake:
        async with AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url) as client:
            with pytest.raises(InvalidModelError, match="accepted model forms") as info:
                client.acompletion(model=ALIAS, messages=MESSAGES)
            assert "gateway" in str(info.value)  # says how to send an alias, too
            with pytest.raises(InvalidModelError):
                client.chat.completions.create(model=ALIAS, messages=MESSAGES)
            with pytest.raises(InvalidModelError):
                client.acompletion(model=MODEL, messages=MESSAGES, fallbacks=[ALIAS])
            with pytest.raises(InvalidModelError):
                Agent(model=ALIAS, client=client)
            with pytest.raises(InvalidModelError):
                aclarifai.abatch_stream(ALIAS, [MESSAGES], client=client)
        with pytest.raises(InvalidModelError):
            aclarifai.acompletion(
                model=ALIAS, messages=MESSAGES, api_key=fake.api_key, base_url=fake.base_url
            )
        with pytest.raises(InvalidModelError):
            Agent(model=ALIAS, api_key=fake.api_key, base_url=fake.base_url)
        with pytest.raises(InvalidModelError):
            await aclarifai.abatch_completion(
                ALIAS, [MESSAGES], api_key=fake.api_key, base_url=fake.base_url
            )
        assert fake.request_count == 0
    for base in ("https://api.clarifai.com", "https://api.clarifai.com/v2/ext/openai/v1", None):
        client = AsyncClarifai(api_key="k", base_url=base)
        with pytest.raises(InvalidModelError):
            client.acompletion(model=ALIAS, messages=MESSAGES)
        with pytest.raises(ValueError):  # still a ValueError, as it always was
            aclarifai.acompletion(model=ALIAS, messages=MESSAGES, api_key="k", base_url=base)


def test_an_empty_model_is_refused_everywhere() -> None:
    client = AsyncClarifai(api_key="k", base_url="https://gateway.example.com/v1")
    for bad in ("", "   "):
        with pytest.raises(InvalidModelError):
            client.acompletion(model=bad, messages=MESSAGES)


# -- errors and request ids from a gateway -------------------------------------------------------


@pytest.mark.parametrize("header", REQUEST_ID_HEADERS)
async def test_the_request_id_falls_back_to_gateway_headers(gateway: Gateway, header: str) -> None:
    gateway.headers = {header.upper() if header.startswith("x-") else header: f"id-{header}"}
    gateway.errors.append((500, {"error": {"message": "upstream failed"}}))
    async with gateway_client(gateway, max_retries=0) as client:
        with pytest.raises(InternalServerError) as info:
            await client.acompletion(model=ALIAS, messages=MESSAGES)
        assert info.value.request_id == f"id-{header}"
        assert f"request id id-{header}" in str(info.value)
        async with await client.acompletion(model=ALIAS, messages=MESSAGES, stream=True) as stream:
            await stream.get_final_completion()
        assert stream.request_id == f"id-{header}"


def test_request_id_order_and_case() -> None:
    assert request_id_of({"cf-ray": "ray", "X-Request-ID": "main"}) == "main"
    assert request_id_of({"CF-RAY": "ray", "x-correlation-id": "corr"}) == "corr"
    assert request_id_of({"X-Amzn-RequestId": "aws"}) == "aws"
    assert request_id_of({"x-request-id": "", "request-id": "second"}) == "second"
    assert request_id_of({"content-type": "application/json"}) is None
    assert request_id_of(None) is None and request_id_of({}) is None


async def test_an_error_body_req_id_is_used_without_any_header(gateway: Gateway) -> None:
    gateway.headers = {}
    gateway.errors.append((404, {"status": {"code": 21200, "description": "no model",
                                            "req_id": "body-req-7"}}))
    async with gateway_client(gateway, max_retries=0) as client:
        with pytest.raises(NotFoundError) as info:
            await client.acompletion(model=ALIAS, messages=MESSAGES)
    assert info.value.request_id == "body-req-7"


async def test_a_gateway_stream_error_with_code_500(gateway: Gateway) -> None:
    error = {"error": {"message": "upstream failed", "type": "None", "param": "None", "code": "500"}}
    gateway.stream_error = error
    async with gateway_client(gateway, max_retries=0) as client:
        with pytest.raises(StreamError) as info:
            await streamed(client.acompletion(model=ALIAS, messages=MESSAGES))
    assert info.value.status_code == 500 and info.value.code == "500"
    assert info.value.request_id == "litellm-1"
    assert str(info.value).startswith("HTTP 500, code 500: upstream failed")
