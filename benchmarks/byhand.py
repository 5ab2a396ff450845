"""The hand-written accumulation a user of any SDK writes per chunk, shared by the peer clients.

Every client that streams chunks (aclarifai's chunk variant, the OpenAI SDK, LiteLLM) feeds the
first choice of each chunk here, so they all pay for exactly the same user-side work.
"""

from __future__ import annotations

from typing import Any


class ByHand:
    """Content, tool calls by index (id, name, argument fragments) and the finish reason."""

    __slots__ = ("calls", "content", "finish_reason")

    def __init__(self) -> None:
        self.content: list[str] = []
        self.calls: dict[int, list[Any]] = {}  # index -> [id, name, [argument fragments]]
        self.finish_reason: str | None = None

    def take(self, choice: Any) -> None:
        delta = choice.delta
        if delta.content:
            self.content.append(delta.content)
        for fragment in delta.tool_calls or ():
            call = self.calls.setdefault(fragment.index or 0, [None, None, []])
            if fragment.id:
                call[0] = fragment.id
            function = fragment.function
            if function is not None:
                if function.name:
                    call[1] = function.name
                if function.arguments:
                    call[2].append(function.arguments)
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason

    def result(self) -> dict[str, Any]:
        return {
            "content": "".join(self.content) or None,
            "tool_calls": [[c[0], c[1], "".join(c[2])] for _, c in sorted(self.calls.items())],
            "finish_reason": self.finish_reason,
        }
