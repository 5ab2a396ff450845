"""LiteLLM (``acompletion(stream=True)``, deltas accumulated by hand), when installed.

It reaches the server through its OpenAI-compatible provider (``openai/<model>`` + ``api_base``).
"""

from __future__ import annotations

import os
from typing import Any

# Keep LiteLLM off the network: it would fetch its model price list at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402

from . import scenarios as sc
from .byhand import ByHand  # noqa: E402


class LiteLLMClient:
    def __init__(self, port: int, variant: str) -> None:
        self.api_base = f"http://127.0.0.1:{port}{sc.API_PATH}"

    async def open(self) -> None:
        litellm.telemetry = False

    async def close(self) -> None:
        pass

    def _options(self, plan: sc.Plan) -> dict[str, Any]:
        options: dict[str, Any] = {
            "model": "openai/" + sc.MODEL, "messages": plan.messages,
            "api_base": self.api_base, "api_key": sc.API_KEY,
        }
        if plan.tools:
            options["tools"] = plan.tools
        return options

    async def stream(self, plan: sc.Plan) -> dict[str, Any]:
        by_hand = ByHand()
        response = await litellm.acompletion(**self._options(plan), stream=True)
        async for chunk in response:
            if chunk.choices:
                by_hand.take(chunk.choices[0])
        return by_hand.result()

    async def complete(self, plan: sc.Plan) -> dict[str, Any]:
        response = await litellm.acompletion(**self._options(plan))
        choice = response.choices[0]
        calls = [[c.id, c.function.name, c.function.arguments]
                 for c in choice.message.tool_calls or ()]
        return {"content": choice.message.content, "tool_calls": calls,
                "finish_reason": choice.finish_reason}


def make(port: int, variant: str) -> LiteLLMClient:
    return LiteLLMClient(port, variant)
