"""A chat page served by aiohttp: an agent's answer and tool calls streamed to the browser.

    python examples/aiohttp_chat/app.py --port 8080          # offline, against FakeClarifai
    CLARIFAI_PAT=... python examples/aiohttp_chat/app.py --online [--model URL] [--port 8080]

Then open http://127.0.0.1:8080 and ask "What's the weather in Paris?". The page posts the
conversation to ``/api/chat``; the answer comes back as Server-Sent Events relayed by
``aclarifai.web.aiohttp_sse_response`` (the page reads them with ``fetch``, since
``EventSource`` cannot POST). One ``AsyncClarifai`` client, and so one pooled connection
session, serves every browser. Offline, FakeClarifai runs inside this process and its demo model
plays the model: it calls the tools named in the question and answers with their results.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from chat_common import DEFAULT_MODEL, INSTRUCTIONS, PAGE, get_time, get_weather, parse_args

from aclarifai import AsyncClarifai
from aclarifai.agent import Agent
from aclarifai.testing import FakeClarifai
from aclarifai.web import aiohttp_sse_response

MAX_MESSAGES = 50
MAX_CHARS = 8_000

CLIENT = web.AppKey("client", AsyncClarifai)
MODEL = web.AppKey("model", str)


def parse_messages(body: Any) -> list[dict[str, str]]:
    """The conversation the page sent: user and assistant text messages only."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not 0 < len(messages) <= MAX_MESSAGES:
        raise ValueError(f"'messages' must be a list of 1 to {MAX_MESSAGES} messages")
    checked = []
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if role not in ("user", "assistant") or not isinstance(content, str) or len(content) > MAX_CHARS:
            raise ValueError(
                f"each message needs a role (user or assistant) and a text of at most {MAX_CHARS} characters"
            )
        checked.append({"role": role, "content": content})
    if checked[-1]["role"] != "user":
        raise ValueError("the last message must be the user's")
    return checked


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE)


async def chat(request: web.Request) -> web.StreamResponse:
    try:
        messages = parse_messages(await request.json())
    except ValueError as exc:  # also invalid JSON
        raise web.HTTPBadRequest(text=str(exc)) from None
    agent = Agent(
        request.app[MODEL], [get_weather, get_time], instructions=INSTRUCTIONS,
        client=request.app[CLIENT],
    )
    return await aiohttp_sse_response(request, agent.stream(messages))


def create_app(client: AsyncClarifai, model: str = DEFAULT_MODEL) -> web.Application:
    """The application, talking to Clarifai (or a fake) through ``client``."""
    app = web.Application()
    app[CLIENT] = client
    app[MODEL] = model
    app.router.add_get("/", index)
    app.router.add_post("/api/chat", chat)
    return app


async def serve(app: web.Application, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    """Serve until cancelled; prints the address (``--port 0`` picks a free port)."""
    # handler_cancellation: a browser that leaves cancels its handler at once, and with it the
    # Clarifai stream and the running tools (otherwise the relay notices at its next write).
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        print(f"Serving on http://{bound[0]}:{bound[1]}", flush=True)
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def run(online: bool, model: str, host: str, port: int) -> None:
    if online:
        async with AsyncClarifai() as client:  # the PAT comes from CLARIFAI_PAT
            print(f"Online: {model}", flush=True)
            await serve(create_app(client, model), host, port)
        return
    # Offline the demo model plays whichever model --model names.
    async with FakeClarifai(accept_any_model=True) as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url
    ) as client:
        print(f"Offline: FakeClarifai's demo model at {fake.base_url}", flush=True)
        await serve(create_app(client, model), host, port)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__, argv)  # --offline/--online, --model, --host, --port (chat_common.py)
    try:
        asyncio.run(run(args.online, args.model, args.host, args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
