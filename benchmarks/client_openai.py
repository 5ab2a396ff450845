"""The OpenAI SDK (``AsyncOpenAI``, streaming, deltas accumulated by hand), when installed."""

from __future__ import annotations

from typing import Any

import openai

from . import scenarios as sc
from .byhand import ByHand


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
        by_hand = ByHand()
        stream = await self.client.chat.completions.create(
            **self._options(plan), stream=True, stream_options={"include_usage": True}
        )
        async with stream:
            async for chunk in stream:
                if chunk.choices:
                    by_hand.take(chunk.choices[0])
        return by_hand.result()

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
