"""The conformance corpus (tests/fixtures/streams) and how to compare against it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aclarifai import ChatCompletion

STREAMS = Path(__file__).parent / "fixtures" / "streams"


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    expected: dict[str, Any]

    def __repr__(self) -> str:
        return self.name


def cases() -> list[Case]:
    found = sorted(STREAMS.glob("*.sse"))
    assert len(found) >= 32, "the conformance corpus is missing"
    return [
        Case(
            path.stem,
            path.read_bytes(),
            json.loads(path.with_name(path.stem + ".expected.json").read_text()),
        )
        for path in found
    ]


def _choice_view(choice: Any, with_logprobs: bool) -> dict[str, Any]:
    message = choice.message
    view: dict[str, Any] = {
        "content": message.content,
        "reasoning_content": message.reasoning_content,
        "refusal": message.refusal,
        "tool_calls": [
            {
                "id": call.id,
                "type": call.type,
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in message.tool_calls or []
        ],
        "finish_reason": choice.finish_reason,
    }
    if with_logprobs:
        view["logprobs"] = choice.logprobs
    return view


def assembled(completion: ChatCompletion, expected: dict[str, Any]) -> dict[str, Any]:
    """The completion in the shape of an expected file (only the keys that file has)."""
    by_index = {c.index: c for c in completion.choices}
    view = _choice_view(by_index[0], "logprobs" in expected) if 0 in by_index else {}
    usage = completion.usage
    view["usage"] = usage.to_dict() if usage is not None else None
    if "choices" in expected:
        view["choices"] = [
            {"index": c.index, **_choice_view(c, False)} for c in completion.choices
        ]
    return view


def wanted(expected: dict[str, Any]) -> dict[str, Any]:
    keys = ["content", "reasoning_content", "refusal", "tool_calls", "finish_reason", "usage"]
    result = {key: expected.get(key) for key in keys}
    for optional in ("logprobs", "choices"):
        if optional in expected:
            result[optional] = expected[optional]
    return result
