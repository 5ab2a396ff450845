"""Typed stream events: what a chunk means, as a UI or an agent wants to hear it.

Produced by ``ChunkAccumulator.add()`` and ``CompletionStream.events()``; each is a frozen
dataclass with a ``type`` class attribute: a stable string naming the kind of event, typed as its
``Literal`` (``ClassVar[Literal["content.delta"]]``), so that ``if event.type == "content.delta":``
narrows ``StreamEvent`` to ``ContentDelta`` in mypy and pyright. A class attribute costs nothing
per event (these are built per chunk); the agent's events (``aclarifai.agent``) are built the
same way.
For one choice of one stream the order is: deltas as they arrive; for each tool call exactly one
``ToolCallStarted``, its ``ToolCallArgumentsDelta`` events, then exactly one ``ToolCallDone``;
``ContentDone`` and ``Finished`` once the choice is over; ``UsageUpdated`` whenever usage changes.
Tool calls are numbered per choice in arrival order (``index`` 0, 1, ...), which is their position
in the final message whenever the server numbers them in order (all known servers do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from .types import ToolCall, Usage

__all__ = [
    "ContentDelta",
    "ContentDone",
    "Finished",
    "ReasoningDelta",
    "RefusalDelta",
    "StreamEvent",
    "ToolCallArgumentsDelta",
    "ToolCallDone",
    "ToolCallStarted",
    "UsageUpdated",
]


@dataclass(frozen=True, slots=True)
class ContentDelta:
    """A piece of the answer's text."""

    choice: int
    text: str
    type: ClassVar[Literal["content.delta"]] = "content.delta"


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning (``reasoning_content`` / ``reasoning`` / thinking parts)."""

    choice: int
    text: str
    type: ClassVar[Literal["reasoning.delta"]] = "reasoning.delta"


@dataclass(frozen=True, slots=True)
class RefusalDelta:
    """A piece of a refusal message."""

    choice: int
    text: str
    type: ClassVar[Literal["refusal.delta"]] = "refusal.delta"


def _store_through_slots(cls: type) -> None:
    """Give a frozen slots event a faster ``__init__`` (same signature and behaviour).

    The generated one calls ``object.__setattr__`` per field (about 0.9 µs per event); writing
    through the slot descriptors directly costs about half, and these events come per chunk.
    """
    set_choice = cls.choice.__set__  # type: ignore[attr-defined]
    set_text = cls.text.__set__  # type: ignore[attr-defined]

    def __init__(self: Any, choice: int, text: str) -> None:
        set_choice(self, choice)
        set_text(self, text)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", __init__)  # noqa: B010 - assigning a method directly upsets mypy


for _cls in (ContentDelta, ReasoningDelta, RefusalDelta):
    _store_through_slots(_cls)


@dataclass(frozen=True, slots=True)
class ContentDone:
    """The choice's text is complete (sent when it finishes, if it had any text)."""

    choice: int
    content: str
    type: ClassVar[Literal["content.done"]] = "content.done"


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """A tool call began; ``name`` is final unless the server streams names in pieces."""

    choice: int
    index: int
    id: str | None
    name: str | None
    type: ClassVar[Literal["tool_call.started"]] = "tool_call.started"


class _Lazy:
    """A dataclass field whose value may be given as a ``_Deferred``, computed on first read.

    Keeps per-fragment events O(1) to build: joining all arguments so far, or materialising the
    partial parse, on every fragment would make a long tool call quadratic.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._key = "_lazy_" + name

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        if obj is None:
            raise AttributeError(self._key)  # tells dataclasses the field has no default
        value = obj.__dict__[self._key]
        if type(value) is _Deferred:
            value = value.fn(value.arg)
            obj.__dict__[self._key] = value
        return value

    def __set__(self, obj: object, value: Any) -> None:
        obj.__dict__[self._key] = value


class _Deferred:
    """A value to compute on first read: ``fn(arg)``."""

    __slots__ = ("arg", "fn")

    def __init__(self, fn: Callable[[Any], Any], arg: Any) -> None:
        self.fn = fn
        self.arg = arg


@dataclass(frozen=True)
class ToolCallArgumentsDelta:
    """A fragment of a tool call's JSON arguments.

    ``arguments_so_far`` is the raw text received so far; ``parsed_so_far`` the best-effort parse
    of it: a dict holding every member that is complete so far (nested containers included with
    their complete members). Both are computed on first read; treat them as read-only.
    """

    choice: int
    index: int
    delta: str
    arguments_so_far: str = _Lazy()  # type: ignore[assignment]
    parsed_so_far: dict[str, Any] = _Lazy()  # type: ignore[assignment]
    type: ClassVar[Literal["tool_call.arguments.delta"]] = "tool_call.arguments.delta"

    @classmethod
    def _deferred(
        cls, choice: int, index: int, delta: str, arguments: _Deferred, parsed: _Deferred
    ) -> ToolCallArgumentsDelta:
        """Build one per fragment without the generated ``__init__`` (five frozen setattrs)."""
        event = object.__new__(cls)
        event.__dict__.update(
            choice=choice,
            index=index,
            delta=delta,
            _lazy_arguments_so_far=arguments,
            _lazy_parsed_so_far=parsed,
        )
        return event


@dataclass(frozen=True, slots=True)
class ToolCallDone:
    """A tool call is complete: ``tool_call`` carries its final id, name and arguments.

    Fires once per call, as soon as its arguments are known to be complete: a later call began and
    this call's arguments parse as complete JSON, or the choice finished, or the stream ended.
    """

    choice: int
    index: int
    tool_call: ToolCall
    type: ClassVar[Literal["tool_call.done"]] = "tool_call.done"


@dataclass(frozen=True, slots=True)
class UsageUpdated:
    """The stream reported (new) token usage."""

    usage: Usage
    type: ClassVar[Literal["usage"]] = "usage"


@dataclass(frozen=True, slots=True)
class Finished:
    """A choice finished; ``finish_reason`` is None when the server never sent one."""

    choice: int
    finish_reason: str | None
    type: ClassVar[Literal["finished"]] = "finished"


StreamEvent = (
    ContentDelta
    | ReasoningDelta
    | RefusalDelta
    | ContentDone
    | ToolCallStarted
    | ToolCallArgumentsDelta
    | ToolCallDone
    | UsageUpdated
    | Finished
)
