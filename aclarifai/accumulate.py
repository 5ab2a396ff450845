"""ChunkAccumulator: streamed chunks in, typed events and the assembled completion out. No I/O.

The assembly rules (tests/fixtures/README.md): text fields concatenate, an empty result is null;
tool calls are grouped by ``index`` (gaps and a start at 1 are fine), a delta without ``index``
starts a new call when it brings a new id or a name and continues the last call otherwise; ids,
types and names come from the first non-empty value and are never concatenated when repeated,
while a name genuinely streamed in pieces is joined; ``finish_reason`` and ``usage`` keep their
last non-null value; reasoning arrives as ``reasoning_content``, ``reasoning`` or thinking parts;
vendor fields are kept on the message and the tool calls so they can be sent back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from ._toolcall import ToolCallState, merge_extras
from .events import (
    ContentDelta,
    ContentDone,
    Finished,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStarted,
    UsageUpdated,
    _Deferred,
)
from .types import ChatCompletion, ChatCompletionChunk, ToolCall, Usage, _copy, _text_of

__all__ = ["ChunkAccumulator", "stream_chunk_builder"]

_Events = list[StreamEvent]


def _snapshot_value(snapshot: Any) -> Any:
    return snapshot.value


class _Choice:
    """Everything assembled so far for one choice index."""

    __slots__ = (
        "by_index",
        "calls",
        "content",
        "content_done",
        "extras",
        "finish_reason",
        "finished",
        "index",
        "logprobs",
        "reasoning",
        "refusal",
        "role",
    )

    def __init__(self, index: int) -> None:
        self.index = index
        self.role: str | None = None
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.calls: list[ToolCallState] = []
        self.by_index: dict[int, ToolCallState] = {}
        self.finish_reason: str | None = None
        self.finished = False
        self.content_done = False
        self.logprobs: dict[str, list[Any]] | None = None
        self.extras: dict[str, Any] = {}

    def ordered_calls(self) -> list[ToolCallState]:
        if all(c.wire_index is not None for c in self.calls):
            return sorted(self.calls, key=lambda c: (c.wire_index, c.ordinal))
        return self.calls

    def to_dict(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role or "assistant",
            "content": "".join(self.content) or None,
        }
        if reasoning := "".join(self.reasoning):
            message["reasoning_content"] = reasoning
        if refusal := "".join(self.refusal):
            message["refusal"] = refusal
        if self.calls:
            message["tool_calls"] = [c.to_dict() for c in self.ordered_calls()]
        for key, value in self.extras.items():
            message.setdefault(key, value)
        return {
            "index": self.index,
            "message": message,
            "finish_reason": self.finish_reason,
            "logprobs": self.logprobs,
        }


class ChunkAccumulator:
    """Assemble streamed chunks into a ``ChatCompletion``, emitting typed events on the way.

    >>> acc = ChunkAccumulator()
    >>> for chunk in chunks:                     # ChatCompletionChunk objects or wire dicts
    ...     for event in acc.add(chunk):
    ...         handle(event)
    >>> acc.end()                                # at end of stream: closes what is still open
    >>> acc.completion().choices[0].message.content

    ``completion()`` may be called at any point and returns a consistent snapshot.
    """

    __slots__ = ("_choices", "_created", "_id", "_model", "_service_tier", "_system_fingerprint",
                 "_usage")

    def __init__(self) -> None:
        self._choices: dict[int, _Choice] = {}
        self._id: str | None = None
        self._model: str | None = None
        self._created: int | None = None
        self._system_fingerprint: str | None = None
        self._service_tier: str | None = None
        self._usage: dict[str, Any] | None = None

    @property
    def usage(self) -> Usage | None:
        """The last usage reported so far."""
        return Usage(self._usage) if self._usage else None

    @property
    def model(self) -> str | None:
        """The model the server named in its chunks, if any."""
        return self._model

    @property
    def started(self) -> bool:
        """Whether any choice has begun (a chunk with a ``choices`` entry arrived)."""
        return bool(self._choices)

    def unfinished(self) -> list[int]:
        """The indexes of the choices that began but have no ``finish_reason`` yet, in order.

        A stream that ends without ``[DONE]`` is complete only when this is empty (and a choice
        began): checked once, at the end of the body, never per chunk.
        """
        return sorted(i for i, choice in self._choices.items() if not choice.finish_reason)

    def add(self, chunk: ChatCompletionChunk | dict[str, Any]) -> list[StreamEvent]:
        """Take one chunk; return the events it produces, in order."""
        events: _Events = []
        self.feed(chunk, events)
        return events

    def feed(self, chunk: ChatCompletionChunk | dict[str, Any], events: _Events | None) -> None:
        """Take one chunk, appending its events to ``events`` (``None``: assemble only)."""
        data = chunk._data if isinstance(chunk, ChatCompletionChunk) else chunk
        if not isinstance(data, dict):
            raise TypeError(f"expected a chunk or a dict, got {type(chunk).__name__}")
        if self._id is None:
            self._take_header(data)
        choices = data.get("choices")
        if choices:
            for raw in choices:
                if type(raw) is dict:
                    self._add_choice(raw, events)
        usage = data.get("usage")
        if usage and type(usage) is dict and usage != self._usage:
            self._usage = usage
            if events is not None:
                events.append(UsageUpdated(Usage(usage)))
        fingerprint = data.get("system_fingerprint")
        if fingerprint:
            self._system_fingerprint = fingerprint
        if "service_tier" in data and data["service_tier"]:
            self._service_tier = data["service_tier"]

    def end(self) -> list[StreamEvent]:
        """The stream is over: finish open tool calls and choices; return their events."""
        events: _Events = []
        for choice in self._choices.values():
            self._close_choice(choice, events)
            if not choice.finished:
                choice.finished = True
                events.append(Finished(choice.index, choice.finish_reason))
        return events

    def completion(self) -> ChatCompletion:
        """The completion assembled so far (a new object; later chunks do not change it)."""
        data: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion",
            "created": self._created,
            "model": self._model,
            "choices": [self._choices[i].to_dict() for i in sorted(self._choices)],
        }
        if self._usage:
            data["usage"] = self._usage
        if self._system_fingerprint:
            data["system_fingerprint"] = self._system_fingerprint
        if self._service_tier:
            data["service_tier"] = self._service_tier
        return ChatCompletion(_copy(data))

    def _take_header(self, data: dict[str, Any]) -> None:
        if data.get("id"):
            self._id = data["id"]
        if not self._model and data.get("model"):
            self._model = data["model"]
        if not self._created and data.get("created"):
            self._created = data["created"]

    def _add_choice(self, raw: dict[str, Any], events: _Events | None) -> None:
        index = raw.get("index") or 0
        choice = self._choices.get(index)
        if choice is None:
            choice = self._choices[index] = _Choice(index)
        delta = raw.get("delta")
        if delta and type(delta) is dict:
            self._add_delta(choice, delta, events)
        logprobs = raw.get("logprobs")
        if logprobs and type(logprobs) is dict:
            self._add_logprobs(choice, logprobs)
        finish_reason = raw.get("finish_reason")
        if finish_reason and finish_reason != choice.finish_reason:
            choice.finish_reason = finish_reason
            self._close_choice(choice, events)
            choice.finished = True
            if events is not None:
                events.append(Finished(index, finish_reason))

    def _add_delta(self, choice: _Choice, delta: dict[str, Any], events: _Events | None) -> None:
        # One pass over the delta's keys: most deltas hold one or two, so this beats a lookup
        # per known field, and it finds vendor extras on the way.
        index = choice.index
        reasoning_seen = False
        for key, value in delta.items():
            if not value:
                continue
            if key == "content":
                if type(value) is str:
                    choice.content.append(value)
                    if events is not None:
                        events.append(ContentDelta(index, value))
                elif isinstance(value, list):
                    self._add_parts(choice, value, events)
            elif key == "reasoning_content" or key == "reasoning":
                # Some servers send both names with the same text: take only one of them.
                if reasoning_seen or not isinstance(value, str):
                    continue
                if key == "reasoning" and delta.get("reasoning_content"):
                    continue
                reasoning_seen = True
                choice.reasoning.append(value)
                if events is not None:
                    events.append(ReasoningDelta(index, value))
            elif key == "role":
                if choice.role is None:
                    choice.role = value
            elif key == "tool_calls":
                for raw in value:
                    if isinstance(raw, dict):
                        self._add_tool_delta(choice, raw, events)
            elif key == "refusal":
                if isinstance(value, str):
                    choice.refusal.append(value)
                    if events is not None:
                        events.append(RefusalDelta(index, value))
            elif key != "function_call":
                _merge_message_extra(choice.extras, key, value)

    def _add_parts(self, choice: _Choice, parts: list[Any], events: _Events | None) -> None:
        text = _text_of(parts, "text")
        if text:
            choice.content.append(text)
            if events is not None:
                events.append(ContentDelta(choice.index, text))
        thinking = _text_of(parts, "thinking")
        if thinking:
            choice.reasoning.append(thinking)
            if events is not None:
                events.append(ReasoningDelta(choice.index, thinking))

    def _add_logprobs(self, choice: _Choice, logprobs: dict[str, Any]) -> None:
        for key in ("content", "refusal"):
            items = logprobs.get(key)
            if isinstance(items, list):
                if choice.logprobs is None:
                    choice.logprobs = {}
                choice.logprobs.setdefault(key, []).extend(items)

    def _add_tool_delta(
        self, choice: _Choice, raw: dict[str, Any], events: _Events | None
    ) -> None:
        function = raw.get("function")
        if not isinstance(function, dict):
            function = None
        elif len(raw) == 2 and len(function) == 1:
            # Most fragments are {"index": k, "function": {"arguments": "..."}} for a call that
            # is already open: no call to find or create, no metadata to take.
            call = choice.by_index.get(raw.get("index"))  # type: ignore[arg-type]
            arguments = function.get("arguments")
            if call is not None and call.started and not call.done and type(arguments) is str:
                if arguments:
                    self._append_arguments(choice, call, arguments, events)
                return
        call = self._target_call(choice, raw, function, events)
        call.update_meta(raw, function)
        arguments = function.get("arguments") if function else None
        if arguments is None or arguments == "":
            return
        if not isinstance(arguments, str):  # a server that sends an object instead of a string
            arguments = orjson.dumps(arguments).decode()
        if call.done:
            call.add_arguments(arguments)  # kept, so nothing is lost; the call was already closed
            return
        if not call.started:
            self._start(choice, call, events)
        self._append_arguments(choice, call, arguments, events)

    def _append_arguments(
        self, choice: _Choice, call: ToolCallState, arguments: str, events: _Events | None
    ) -> None:
        call.add_arguments(arguments)
        if events is not None:
            events.append(
                ToolCallArgumentsDelta._deferred(
                    choice.index,
                    call.ordinal,
                    arguments,
                    _Deferred(call.arguments, len(call.arg_parts)),
                    _Deferred(_snapshot_value, call.parser.snapshot()),
                )
            )
        if call is not choice.calls[-1] and call.complete:
            self._finish_call(choice, call, events)

    def _target_call(
        self,
        choice: _Choice,
        raw: dict[str, Any],
        function: dict[str, Any] | None,
        events: _Events | None,
    ) -> ToolCallState:
        """The call this delta belongs to, creating it when the delta starts a new one."""
        wire_index = raw.get("index")
        call_id = raw.get("id")
        if wire_index is not None:
            call = choice.by_index.get(wire_index)
            # A different id on a finished index: a server reusing indexes for parallel calls.
            if call is not None and not (call_id and call.id and call_id != call.id and call.complete):
                return call
        elif choice.calls:
            last = choice.calls[-1]
            name = function.get("name") if function else None
            if not call_id and not name:
                return last
            if call_id and call_id == last.id:
                return last
            if not call_id and name == last.name and not last.complete:
                return last
        call = ToolCallState(len(choice.calls), wire_index)
        for earlier in choice.calls:
            if not earlier.done and earlier.complete:
                self._finish_call(choice, earlier, events)
        choice.calls.append(call)
        if wire_index is not None:
            choice.by_index[wire_index] = call
        return call

    def _start(self, choice: _Choice, call: ToolCallState, events: _Events | None) -> None:
        call.started = True
        if events is not None:
            events.append(ToolCallStarted(choice.index, call.ordinal, call.id, call.name))

    def _finish_call(self, choice: _Choice, call: ToolCallState, events: _Events | None) -> None:
        if not call.started:
            self._start(choice, call, events)
        call.done = True
        if events is not None:
            events.append(ToolCallDone(choice.index, call.ordinal, ToolCall(call.to_dict())))

    def _close_choice(self, choice: _Choice, events: _Events | None) -> None:
        for call in choice.calls:
            if not call.done:
                self._finish_call(choice, call, events)
        if not choice.content_done and choice.content:
            choice.content_done = True
            if events is not None:
                events.append(ContentDone(choice.index, "".join(choice.content)))


def _merge_message_extra(target: dict[str, Any], key: str, value: Any) -> None:
    """Keep a vendor field of the delta on the message: lists extend, the first value wins."""
    mine = target.get(key)
    if isinstance(mine, list) and isinstance(value, list):
        mine.extend(value)
    elif isinstance(value, list):
        target[key] = list(value)
    elif isinstance(mine, dict) and isinstance(value, dict):
        merge_extras(mine, value, frozenset())
    elif mine is None:
        target[key] = value


def stream_chunk_builder(
    chunks: Iterable[ChatCompletionChunk | dict[str, Any]],
) -> ChatCompletion:
    """Assemble a list of chunks (objects or wire dicts) into a ``ChatCompletion``.

    The same rules as ``ChunkAccumulator``; an empty list gives a completion with no choices.
    """
    acc = ChunkAccumulator()
    for chunk in chunks:
        acc.feed(chunk, None)
    acc.end()
    return acc.completion()
