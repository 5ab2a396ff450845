"""LiteLLM (``acompletion(stream=True)``, deltas accumulated by hand), when installed.

It reaches the server through its OpenAI-compatible provider (``openai/<model>`` + ``api_base``).
"""

from __future__ import annotations

import os
from typing import Any

# Keep LiteLLM off the network: it would fetch its model price list at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402

from . import scenarios as sc  # noqa: E402


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
        content: list[str] = []
        calls: dict[int, list[Any]] = {}
        finish_reason = None
        response = await litellm.acompletion(**self._options(plan), stream=True)
        async for chunk in response:
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            delta = choice.delta
            if delta.content:
                content.append(delta.content)
            for fragment in delta.tool_calls or ():
                call = calls.setdefault(fragment.index, [None, None, []])
                if fragment.id:
                    call[0] = fragment.id
                if fragment.function is not None:
                    if fragment.function.name:
                        call[1] = fragment.function.name
                    if fragment.function.arguments:
                        call[2].append(fragment.function.arguments)
            if choice.finish_reason:
                finish_reason = choice.finish_reason
        return {
            "content": "".join(content) or None,
            "tool_calls": [[c[0], c[1], "".join(c[2])] for _, c in sorted(calls.items())],
            "finish_reason": finish_reason,
        }

    async def complete(self, plan: sc.Plan) -> dict[str, Any]:
        response = await litellm.acompletion(**self._options(plan))
        choice = response.choices[0]
        calls = [[c.id, c.function.name, c.function.arguments]
                 for c in choice.message.tool_calls or ()]
        return {"content": choice.message.content, "tool_calls": calls,
                "finish_reason": choice.finish_reason}


def make(port: int, variant: str) -> LiteLLMClient:
    return LiteLLMClient(port, variant)
