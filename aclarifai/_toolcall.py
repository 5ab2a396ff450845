"""One tool call being assembled from stream fragments (used by the accumulator; no I/O)."""

from __future__ import annotations

from typing import Any

from ._partial_json import PartialJSONParser

_KNOWN_CALL_KEYS = frozenset(("index", "id", "type", "function"))
_KNOWN_FUNCTION_KEYS = frozenset(("name", "arguments"))


def merge_extras(target: dict[str, Any], source: dict[str, Any], known: frozenset[str]) -> None:
    """Keep vendor fields: the first non-empty value wins, nested objects merge."""
    for key, value in source.items():
        if key in known or value is None or value == "":
            continue
        mine = target.get(key)
        if isinstance(mine, dict) and isinstance(value, dict):
            merge_extras(mine, value, frozenset())
        elif mine is None:
            target[key] = value


class ToolCallState:
    """The pieces of one tool call; strings are buffered as lists and joined on demand."""

    __slots__ = (
        "_joined",
        "_joined_parts",
        "arg_parts",
        "done",
        "extras",
        "fn_extras",
        "id",
        "name",
        "ordinal",
        "parser",
        "started",
        "type",
        "wire_index",
    )

    def __init__(self, ordinal: int, wire_index: int | None) -> None:
        self.ordinal = ordinal
        self.wire_index = wire_index
        self.id: str | None = None
        self.type: str | None = None
        self.name: str | None = None
        self.arg_parts: list[str] = []
        self.parser = PartialJSONParser()
        self.extras: dict[str, Any] = {}
        self.fn_extras: dict[str, Any] = {}
        self.started = False
        self.done = False
        self._joined = ""
        self._joined_parts = 0

    def update_meta(self, delta: dict[str, Any], function: dict[str, Any] | None) -> None:
        """Take id, type, name and vendor fields from a delta (arguments are handled apart)."""
        call_id = delta.get("id")
        if call_id and not self.id:
            self.id = call_id
        kind = delta.get("type")
        if kind and not self.type:
            self.type = kind
        if not _KNOWN_CALL_KEYS.issuperset(delta):
            merge_extras(self.extras, delta, _KNOWN_CALL_KEYS)
        if function:
            name = function.get("name")
            if name:
                self._take_name(name)
            if not _KNOWN_FUNCTION_KEYS.issuperset(function):
                merge_extras(self.fn_extras, function, _KNOWN_FUNCTION_KEYS)

    def _take_name(self, name: str) -> None:
        current = self.name
        if not current:
            self.name = name
        elif name == current:
            pass  # the server repeats the whole name on every delta
        elif name.startswith(current):
            self.name = name  # the server sends the name so far, growing
        else:
            self.name = current + name  # the name is genuinely streamed in pieces

    def add_arguments(self, fragment: str) -> None:
        self.arg_parts.append(fragment)
        self.parser.feed(fragment)

    def arguments(self, parts: int | None = None) -> str:
        """The arguments text made of the first ``parts`` fragments (all by default)."""
        n = len(self.arg_parts) if parts is None else parts
        if n != self._joined_parts:
            if n > self._joined_parts:
                tail = "".join(self.arg_parts[self._joined_parts : n])
                self._joined = self._joined + tail if self._joined else tail
            else:
                return "".join(self.arg_parts[:n])
            self._joined_parts = n
        return self._joined

    @property
    def complete(self) -> bool:
        """The arguments so far are a complete JSON value."""
        return self.parser.complete

    def to_dict(self) -> dict[str, Any]:
        function: dict[str, Any] = {"name": self.name, "arguments": self.arguments()}
        if self.fn_extras:
            function.update(self.fn_extras)
        call: dict[str, Any] = {"id": self.id, "type": self.type or "function", "function": function}
        if self.extras:
            call.update(self.extras)
        return call
