"""The chat page of examples/aiohttp_chat, served by FastAPI and uvicorn.

    pip install 'aclarifai[web]'                             # fastapi, uvicorn
    python examples/fastapi_chat/app.py --port 8080          # offline, against FakeClarifai
    CLARIFAI_PAT=... python examples/fastapi_chat/app.py --online [--model URL] [--port 8080]

The page is the aiohttp example's (``../aiohttp_chat/static/index.html``); the answer is relayed
by ``aclarifai.web.starlette_sse_response``. The client is created in the app's lifespan and
shared by every request. Starlette cancels the response when the browser disconnects, which
closes the Clarifai stream and cancels running tools.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.responses import StreamingResponse

from aclarifai import AsyncClarifai
from aclarifai.agent import Agent
from aclarifai.testing import FakeClarifai
from aclarifai.tools import tool
from aclarifai.web import starlette_sse_response

DEFAULT_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
INSTRUCTIONS = "You are a concise assistant. Use the tools for weather and time questions."
PAGE = Path(__file__).parent.parent / "aiohttp_chat" / "static" / "index.html"


@tool
def get_weather(location: str, units: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        location: The city, e.g. "Paris".
        units: Temperature units.
    """
    temperature = 21 if units == "celsius" else 70
    return {"location": location, "temperature": temperature, "units": units, "conditions": "sunny"}


@tool
async def get_time(city: str) -> dict[str, str]:
    """Get the local time in a city.

    Args:
        city: The city, e.g. "Tokyo".
    """
    return {"city": city, "time": "14:05"}


class ChatMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=8_000)


class ChatRequest(BaseModel):
    messages: list[ChatMessage] = Field(min_length=1, max_length=50)


def create_app(online: bool = False, model: str = DEFAULT_MODEL) -> FastAPI:
    """The application; offline, its lifespan runs a FakeClarifai next to the client."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if online:
                client = AsyncClarifai()  # the PAT comes from CLARIFAI_PAT
            else:
                fake = await stack.enter_async_context(FakeClarifai())
                client = AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url)
            app.state.client = await stack.enter_async_context(client)
            yield

    app = FastAPI(title="aclarifai chat", lifespan=lifespan)

    @app.get("/")
    async def index() -> FileResponse:
        return FileResponse(PAGE)

    @app.post("/api/chat")
    async def chat(body: ChatRequest, request: Request) -> StreamingResponse:
        messages = [m.model_dump() for m in body.messages]
        agent = Agent(
            model, [get_weather, get_time], instructions=INSTRUCTIONS, client=request.app.state.client
        )
        return starlette_sse_response(agent.stream(messages))

    return app


async def serve(app: FastAPI, host: str, port: int) -> None:
    """Serve until interrupted; prints the address (``--port 0`` picks a free port)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # browsers may connect now: they wait in the backlog until uvicorn serves
    bound = sock.getsockname()
    print(f"Serving on http://{bound[0]}:{bound[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    await server.serve(sockets=[sock])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true", help="use an in-process FakeClarifai (default)")
    mode.add_argument("--online", action="store_true", help="use the real API (needs CLARIFAI_PAT)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    if args.online and not os.environ.get("CLARIFAI_PAT"):
        print("--online needs a Personal Access Token in CLARIFAI_PAT", file=sys.stderr)
        return 2
    print("Online: " + args.model if args.online else "Offline: FakeClarifai's demo model", flush=True)
    try:
        asyncio.run(serve(create_app(args.online, args.model), args.host, args.port))
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised the signal
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
