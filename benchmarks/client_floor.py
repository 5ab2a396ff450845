"""The floor: raw aiohttp, a byte line splitter and ``orjson.loads`` per event, accumulated by hand.

The least a Python client can do for the same answer, so every other client is reported as a
multiple of it. No typed objects, no error handling beyond the status code, no ``\\r`` line ends.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from . import scenarios as sc


class _Assembly:
    """Content pieces and tool-call fragments by index, joined once at the end."""

    __slots__ = ("calls", "content", "finish_reason")

    def __init__(self) -> None:
        self.content: list[str] = []
        self.calls: dict[int, list[Any]] = {}  # index -> [id, name, [argument fragments]]
        self.finish_reason: str | None = None

    def add(self, chunk: dict[str, Any]) -> None:
        for choice in chunk["choices"]:
            delta = choice["delta"]
            text = delta.get("content")
            if text:
                self.content.append(text)
            tool_calls = delta.get("tool_calls")
            if tool_calls:
                for fragment in tool_calls:
                    call = self.calls.get(fragment["index"])
                    if call is None:
                        call = self.calls[fragment["index"]] = [None, None, []]
                    if fragment.get("id"):
                        call[0] = fragment["id"]
                    function = fragment.get("function")
                    if function:
                        if function.get("name"):
                            call[1] = function["name"]
                        if function.get("arguments"):
                            call[2].append(function["arguments"])
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def result(self) -> dict[str, Any]:
        return {
            "content": "".join(self.content) or None,
            "tool_calls": [[c[0], c[1], "".join(c[2])] for _, c in sorted(self.calls.items())],
            "finish_reason": self.finish_reason,
        }


class FloorClient:
    def __init__(self, port: int, variant: str) -> None:
        self.url = f"http://127.0.0.1:{port}{sc.CHAT_PATH}"
        self.headers = {"Authorization": f"Bearer {sc.API_KEY}", "Content-Type": "application/json"}
        self.session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    def _body(self, plan: sc.Plan, stream: bool) -> bytes:
        body: dict[str, Any] = {"model": sc.MODEL, "messages": plan.messages, "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        if plan.tools:
            body["tools"] = plan.tools
        return orjson.dumps(body)

    async def stream(self, plan: sc.Plan) -> dict[str, Any]:
        assert self.session is not None
        assembly = _Assembly()
        async with self.session.post(self.url, data=self._body(plan, True),
                                     headers=self.headers) as response:
            response.raise_for_status()
            pending = b""
            async for data in response.content.iter_any():
                if pending:
                    data = pending + data
                lines = data.split(b"\n")
                pending = lines.pop()
                for line in lines:
                    if line.startswith(b"data: "):
                        payload = line[6:]
                        if payload != b"[DONE]":
                            assembly.add(orjson.loads(payload))
        return assembly.result()

    async def complete(self, plan: sc.Plan) -> dict[str, Any]:
        assert self.session is not None
        async with self.session.post(self.url, data=self._body(plan, False),
                                     headers=self.headers) as response:
            response.raise_for_status()
            body = orjson.loads(await response.read())
        choice = body["choices"][0]
        message = choice["message"]
        calls = [[c["id"], c["function"]["name"], c["function"]["arguments"]]
                 for c in message.get("tool_calls") or ()]
        return {"content": message.get("content"), "tool_calls": calls,
                "finish_reason": choice["finish_reason"]}


def make(port: int, variant: str) -> FloorClient:
    return FloorClient(port, variant)
