"""The chat page of examples/aiohttp_chat, served by FastAPI and uvicorn.

    pip install 'aclarifai[web]'                             # fastapi, uvicorn
    python examples/fastapi_chat/app.py --port 8080          # offline, against FakeClarifai
    CLARIFAI_PAT=... python examples/fastapi_chat/app.py --online [--model URL] [--port 8080]

The page, the tools and the command line are the aiohttp example's (``../aiohttp_chat/static/``
and ``../aiohttp_chat/chat_common.py``); the answer is relayed by
``aclarifai.web.starlette_sse_response``. The client is created in the app's lifespan and shared
by every request. Starlette cancels the response when the browser disconnects, which
closes the Clarifai stream and cancels running tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Literal

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.responses import StreamingResponse

from aclarifai import AsyncClarifai
from aclarifai.agent import Agent
from aclarifai.testing import FakeClarifai
from aclarifai.web import starlette_sse_response

# The page, the tools and the command line are the aiohttp example's: import them from its folder.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "aiohttp_chat"))
from chat_common import DEFAULT_MODEL, INSTRUCTIONS, PAGE, get_time, get_weather, parse_args  # noqa: E402


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
                fake = await stack.enter_async_context(FakeClarifai(accept_any_model=True))
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
    args = parse_args(__doc__, argv)  # --offline/--online, --model, --host, --port (chat_common.py)
    print("Online: " + args.model if args.online else "Offline: FakeClarifai's demo model", flush=True)
    try:
        asyncio.run(serve(create_app(args.online, args.model), args.host, args.port))
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised the signal
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
