"""docs/extras.md and docs/web.md: image parts, hooks and usage tracking, web relays."""

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, assert_type

from aiohttp import web
from starlette.responses import StreamingResponse

import aclarifai
from aclarifai import AsyncClarifai, ChatCompletion, Hooks, Usage
from aclarifai.hooks import ErrorInfo, RequestInfo, ResponseInfo, UsageTracker
from aclarifai.testing import FakeClarifai
from aclarifai.web import EventEncoder, aiohttp_sse_response, sse_stream, starlette_sse_response

MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def record_latency(info: ResponseInfo) -> None:
    assert_type(info.latency, float)
    assert_type(info.status, int)
    assert_type(info.usage, Usage | None)
    assert_type(info.request, RequestInfo)


async def alert(info: ErrorInfo) -> None:
    assert_type(info.will_retry, bool)
    assert_type(info.delay, float | None)


CLIENT = web.AppKey("client", AsyncClarifai)


async def relay(request: web.Request) -> web.StreamResponse:
    client = request.app[CLIENT]
    messages = [{"role": "user", "content": "Hi"}]
    if request.query.get("agent"):
        agent = aclarifai.Agent(model=MODEL, tools=[], client=client)
        return await aiohttp_sse_response(request, agent.stream(messages), ping_interval=None)
    async with client.acompletion(model=MODEL, messages=messages, stream=True) as stream:
        # As the README writes it: the web module after a plain `import aclarifai`.
        response = await aclarifai.web.aiohttp_sse_response(request, stream.events())
    assert_type(response, web.StreamResponse)
    return response


def starlette_relay(client: AsyncClarifai) -> StreamingResponse:
    messages = [{"role": "user", "content": "Hi"}]
    return starlette_sse_response(client.acompletion(model=MODEL, messages=messages))


async def main() -> None:
    parts = [aclarifai.text("What is this?"), aclarifai.image(PNG, detail="low")]
    assert_type(parts[0], dict[str, Any])
    assert_type(aclarifai.image("https://example.com/cat.png"), dict[str, Any])
    messages = [{"role": "user", "content": parts}]

    tracker = UsageTracker()
    hooks = Hooks(on_response=tracker, on_error=alert)
    hooks.on_response = record_latency
    async with FakeClarifai() as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url, hooks=hooks
    ) as client:
        assert_type(client.hooks, Hooks)
        completion = await client.acompletion(model=MODEL, messages=messages)
        assert_type(completion, ChatCompletion)
        client.hooks.on_response = tracker
        await client.acompletion(model=MODEL, messages=messages)
        assert_type(tracker.total, Usage)
        assert_type(tracker.by_model, dict[str, Usage])
        assert_type(tracker.cost({MODEL: (0.09, 0.36)}), float)

        encoder = EventEncoder(partial_arguments=False)
        async with client.acompletion(model=MODEL, messages=messages, stream=True) as stream:
            async for event in stream.events():
                assert_type(encoder.encode(event), dict[str, Any] | None)
        assert_type(encoder.done(), dict[str, Any])
        body = sse_stream(client.acompletion(model=MODEL, messages=messages))
        assert_type(body, AsyncGenerator[bytes, None])
        assert b"done" in b"".join([data async for data in body])
        assert_type(starlette_relay(client), StreamingResponse)
        app = web.Application()
        app[CLIENT] = client
        app.router.add_post("/chat", relay)


if __name__ == "__main__":
    asyncio.run(main())
