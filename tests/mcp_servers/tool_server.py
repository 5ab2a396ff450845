"""A real MCP server (the ``mcp`` SDK's ``MCPServer``) for the tests: stdio or Streamable HTTP.

    python tool_server.py stdio
    python tool_server.py http PORT [--path /mcp] [--bearer TOKEN]

Tools: ``add`` (structured result), ``weather`` (a dict), ``fail`` (an ``isError`` result),
``slow`` (sleeps; for cancellation), ``crash`` (the process exits mid-call), ``grow`` (adds a
tool and announces the list change), ``calls`` (how many calls each tool received). With
``--bearer`` every HTTP request must carry ``Authorization: Bearer TOKEN`` (else 401), standing
in for Clarifai's MCP endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections import Counter
from typing import Any

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("aclarifai-test-tools")
counts: Counter[str] = Counter()


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    counts["add"] += 1
    return a + b


@server.tool()
def weather(city: str) -> dict[str, Any]:
    """The weather in a city."""
    counts["weather"] += 1
    return {"city": city, "temp_c": 21}


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the reason."""
    counts["fail"] += 1
    raise ValueError(reason)


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    counts["slow"] += 1
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:  # the client sent notifications/cancelled
        counts["slow_cancelled"] += 1
        raise
    return "slept"


@server.tool()
def crash() -> str:
    """The server process dies while answering."""
    os._exit(3)


@server.tool()
async def grow(ctx: Context) -> str:
    """Add the tool ``double`` and tell the client the tool list changed."""

    def double(x: int) -> int:
        """Twice x."""
        return 2 * x

    server.add_tool(double)
    await ctx.notify_tools_changed()
    return "grown"


@server.tool()
def calls() -> dict[str, int]:
    """How many calls each tool has received."""
    return dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("port", nargs="?", type=int)
    parser.add_argument("--path", default="/mcp")
    parser.add_argument("--bearer")
    args = parser.parse_args()
    if args.transport == "stdio":
        server.run()
        return
    import uvicorn
    from starlette.responses import PlainTextResponse

    app = server.streamable_http_app(streamable_http_path=args.path)
    bearer = args.bearer

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and bearer is not None:
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization") != f"Bearer {bearer}".encode():
                await PlainTextResponse("unauthorized", status_code=401)(scope, receive, send)
                return
        await app(scope, receive, send)

    uvicorn.run(guarded, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
