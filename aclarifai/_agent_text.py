"""What the agent tells the model: tool outputs as text, and its mistakes in words it can act on.

No I/O. Error texts name the problem precisely (the JSON path of each schema error, the
available tools, the exception type) because the model's next attempt depends on them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from .tools import _collect_errors

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

CANCELLED = "Error: this tool call was cancelled before it finished because the run was stopped."
CANCELLED_BY_TOOL = "Error: the tool was cancelled before it finished."


def encode_output(value: Any) -> str:
    """A str as it is; anything else as JSON (dataclasses as objects, the rest via ``str()``)."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, default=_jsonable, option=orjson.OPT_NON_STR_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):  # e.g. an int wider than 64 bits
        return str(value)


def _jsonable(value: Any) -> Any:
    """orjson's fallback for the types it does not know."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)  # orjson handles plain ones; this catches slotted ones
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    model_dump = getattr(value, "model_dump", None)  # pydantic models, without importing pydantic
    if callable(model_dump):
        return model_dump(mode="json")
    return str(value)


def tool_failed(name: str, exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"Error: tool {name!r} timed out ({str(exc) or 'no details'})."
    detail = f": {exc}" if str(exc) else ""
    return f"Error: tool {name!r} raised {type(exc).__name__}{detail}"


def unknown_tool(name: str, tools: Iterable[str]) -> str:
    available = ", ".join(tools) or "none"
    return f"Error: there is no tool named {name!r}. Available tools: {available}."


def invalid_json(name: str, problem: str) -> str:
    return (
        f"Error: the arguments for tool {name!r} could not be read: {problem}. "
        "Call it again with a JSON object as arguments."
    )


def invalid_arguments(name: str, errors: Iterable[tuple[str, str]]) -> str:
    lines = "\n".join(f"- {path}: {message}" for path, message in errors)
    return (
        f"Error: invalid arguments for tool {name!r}:\n{lines}\n"
        "Call it again with arguments that fix these problems."
    )


def parse_output(answer: str, validator: Validator) -> tuple[Any, str | None]:
    """The answer parsed as JSON and checked against the output schema: (value, None), or
    (None, a message asking the model to correct it)."""
    try:
        value = orjson.loads(_strip_fence(answer))
    except orjson.JSONDecodeError as exc:
        return None, (
            f"Your answer is not valid JSON ({exc}). Answer again with only the JSON value, "
            "matching the required schema."
        )
    errors = _collect_errors(validator, value)
    if errors:
        lines = "\n".join(f"- {path}: {message}" for path, message in errors)
        return None, (
            f"Your answer does not match the required JSON schema:\n{lines}\n"
            "Answer again with only the corrected JSON value."
        )
    return value, None


def _strip_fence(answer: str) -> str:
    """Models sometimes wrap JSON in a Markdown code fence despite being told not to."""
    stripped = answer.strip()
    if stripped.startswith("```") and stripped.endswith("```") and len(stripped) >= 6:
        inner = stripped[3:-3]
        first, newline, rest = inner.partition("\n")
        return rest if newline and not first.strip().startswith(("{", "[")) else inner
    return stripped


def tool_call_ids(messages: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every tool call id already in the conversation (new ids must not repeat them)."""
    ids: set[str] = set()
    for message in messages:
        for call in message.get("tool_calls") or ():
            if isinstance(call, Mapping) and isinstance(call.get("id"), str):
                ids.add(call["id"])
        if isinstance(message.get("tool_call_id"), str):
            ids.add(message["tool_call_id"])
    return ids
