"""The OpenAI SDK (``AsyncOpenAI``, streaming, deltas accumulated by hand), when installed."""

from __future__ import annotations

from typing import Any

import openai

from . import scenarios as sc


class OpenAIClient:
    def __init__(self, port: int, variant: str) -> None:
        self.base_url = f"http://127.0.0.1:{port}{sc.API_PATH}"
        self.client: openai.AsyncOpenAI | None = None

    async def open(self) -> None:
        # The SDK's default pool allows 1,000 connections, enough for S3's 500 streams.
        self.client = openai.AsyncOpenAI(base_url=self.base_url, api_key=sc.API_KEY)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    def _options(self, plan: sc.Plan) -> dict[str, Any]:
        options: dict[str, Any] = {"model": sc.MODEL, "messages": plan.messages}
        if plan.tools:
            options["tools"] = plan.tools
        return options

    async def stream(self, plan: sc.Plan) -> dict[str, Any]:
        assert self.client is not None
        content: list[str] = []
        calls: dict[int, list[Any]] = {}
        finish_reason = None
        stream = await self.client.chat.completions.create(
            **self._options(plan), stream=True, stream_options={"include_usage": True}
        )
        async with stream:
            async for chunk in stream:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                delta = choice.delta
                if delta.content:
                    content.append(delta.content)
                if delta.tool_calls:
                    for fragment in delta.tool_calls:
                        call = calls.setdefault(fragment.index, [None, None, []])
                        if fragment.id:
                            call[0] = fragment.id
                        function = fragment.function
                        if function is not None:
                            if function.name:
                                call[1] = function.name
                            if function.arguments:
                                call[2].append(function.arguments)
                if choice.finish_reason:
                    finish_reason = choice.finish_reason
        return {
            "content": "".join(content) or None,
            "tool_calls": [[c[0], c[1], "".join(c[2])] for _, c in sorted(calls.items())],
            "finish_reason": finish_reason,
        }

    async def complete(self, plan: sc.Plan) -> dict[str, Any]:
        assert self.client is not None
        completion = await self.client.chat.completions.create(**self._options(plan))
        choice = completion.choices[0]
        calls = [[c.id, c.function.name, c.function.arguments]
                 for c in choice.message.tool_calls or ()]
        return {"content": choice.message.content, "tool_calls": calls,
                "finish_reason": choice.finish_reason}


def make(port: int, variant: str) -> OpenAIClient:
    return OpenAIClient(port, variant)
