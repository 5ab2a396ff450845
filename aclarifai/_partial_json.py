"""Incremental, best-effort parsing of JSON text that arrives in fragments.

This module owns :class:`PartialJSONParser` and :class:`Snapshot`. A streamed tool call delivers
its arguments as many small pieces of JSON text (``'{"loc'``, ``'ation": "Par'``, ...); the parser
consumes them one at a time and can say, at any moment, what has been *completed* so far, so a
caller can act on ``{"location": "Paris"}`` before the stream ends.

What a snapshot shows
    Only finished values. An object shows its completed members, an array its completed items,
    and an open container is shown (with its own completed members) under its key or at the end
    of its parent. A string, ``true``/``false``/``null`` or a number still being read is left out,
    and so is the key it belongs to; a number inside a container is finished only when a
    delimiter follows it, since ``2`` may still become ``23``. Every snapshot is therefore a
    structural prefix of the final value: nothing shown ever changes later, it is only added to
    (barring a duplicate key, whose earlier value shows until the later one replaces it).
    Nothing complete yet (including no input at all) shows as ``{}``.

Bare numbers
    A root that is a bare number has no closing delimiter, and ``feed`` has no end-of-input
    signal, so such a document counts as complete (and its value is shown) whenever the text so
    far is a valid number; a later digit replaces it. This is the one case where a snapshot is
    not a prefix of the final value; tool arguments are objects, so it does not arise there.

Strictness
    The grammar is RFC 8259, decoded like ``json.loads(text, strict=False)``: raw control
    characters inside strings are accepted because models emit them, while ``NaN``/``Infinity``
    (a Python extension) and malformed numbers such as ``01``, ``1.`` or ``+1`` make the parse
    fail. Duplicate keys: the last one wins.

Cost
    Every character is examined a bounded number of times, so feeding a whole document costs time
    linear in its length however it is split. Strings are sliced with ``str.find`` rather than
    walked character by character, and only strings that contain a backslash are decoded. Open
    containers are append-only lists, so ``snapshot()`` records an open container as its list and
    current length, in O(1) (the enclosing containers' records are shared, as they cannot change
    while a child is open); building the Python value is deferred to the first read of
    :attr:`Snapshot.value`, whose cost is that of copying the open containers' members. Finished
    containers are shared between snapshots and with the parser, so values read from a snapshot
    must be treated as read-only.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, TypeAlias

from aclarifai._partial_views import ObjectEntries, PartialArray, PartialObject

__all__ = ["PartialJSONParser", "Snapshot"]

# Parser states; where the text is between tokens, the state says which tokens may come next.
_VALUE: Final = 0  # root start, after ':' or after ',' in an array
_ARRAY_FIRST: Final = 1  # just after '[': a value or ']'
_OBJECT_FIRST: Final = 2  # just after '{': a key or '}'
_KEY: Final = 3  # after ',' in an object
_COLON: Final = 4
_AFTER: Final = 5  # after a member of a container: ',' or the matching close
_DONE: Final = 6  # root finished: whitespace only
_STRING: Final = 7
_NUMBER: Final = 8
_LITERAL: Final = 9
_FAILED: Final = 10

_WHITESPACE: Final = frozenset(" \t\n\r")
_ESCAPABLE: Final = frozenset('"\\/bfnrtu')
_LITERALS: Final[dict[str, Any]] = {"true": True, "false": False, "null": None}
_LITERAL_BY_FIRST: Final = {word[0]: word for word in _LITERALS}
_NUMBER_FIRST: Final = frozenset("-0123456789")
_NUMBER_CHARS: Final = frozenset("-+.eE0123456789")

# A number is checked with a small DFA fed one run of number characters per fragment, so a bad
# number fails as soon as it is seen and a number split across many fragments is never re-read.
_N_START, _N_MINUS, _N_ZERO, _N_INT, _N_DOT, _N_FRAC, _N_E, _N_E_SIGN, _N_EXP = range(9)
_N_ACCEPTING: Final = frozenset({_N_ZERO, _N_INT, _N_FRAC, _N_EXP})
_N_INTEGER: Final = frozenset({_N_ZERO, _N_INT})


def _number_table() -> tuple[dict[str, int], ...]:
    table: tuple[dict[str, int], ...] = tuple({} for _ in range(9))
    digits, nonzero = "0123456789", "123456789"
    table[_N_START]["-"] = _N_MINUS
    for state in (_N_START, _N_MINUS):
        table[state]["0"] = _N_ZERO
        table[state].update(dict.fromkeys(nonzero, _N_INT))
    table[_N_INT].update(dict.fromkeys(digits, _N_INT))
    for state in (_N_ZERO, _N_INT):
        table[state]["."] = _N_DOT
    for state in (_N_ZERO, _N_INT, _N_FRAC):
        table[state].update(dict.fromkeys("eE", _N_E))
    for state in (_N_DOT, _N_FRAC):
        table[state].update(dict.fromkeys(digits, _N_FRAC))
    table[_N_E].update(dict.fromkeys("+-", _N_E_SIGN))
    for state in (_N_E, _N_E_SIGN, _N_EXP):
        table[state].update(dict.fromkeys(digits, _N_EXP))
    return table


_NUMBER_TABLE: Final = _number_table()
# Most numbers arrive whole inside one fragment; this reads and checks them in one step, leaving
# the DFA to numbers split across fragments. Groups 1 and 2 match only for a float.
_WHOLE_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")

# Decodes strings that contain escapes, exactly as json.loads would (surrogates included).
_STRING_DECODER: Final = json.JSONDecoder(strict=False)

_MISSING: Final[Any] = object()

# What a snapshot keeps of one open container: is_object, entries, length then, pending key.
_FrameView: TypeAlias = "tuple[bool, Any, int, str]"
# The views of the containers around the innermost open one, innermost first, as a linked list.
# A container gains no member while its child is open, so its view stays true for as long as it
# is in this list, and every snapshot taken meanwhile shares the list instead of rebuilding it:
# that makes snapshot() O(1) rather than O(depth).
_Outer: TypeAlias = "tuple[_FrameView, _Outer] | None"


class _Frame:
    """One open container. ``entries`` only ever grows, which is what lets snapshots share it."""

    __slots__ = ("entries", "is_object", "key")

    def __init__(self, is_object: bool) -> None:
        self.is_object = is_object
        # Members of an object (ObjectEntries), items of an array (a list).
        self.entries: Any = ObjectEntries() if is_object else []
        # The key of the member being read, which is also where an open child container goes.
        self.key = ""


class Snapshot:
    """What was complete at one moment of a :class:`PartialJSONParser`'s input.

    Made by :meth:`PartialJSONParser.snapshot`. Cheap to create; the Python value is built on the
    first read of :attr:`value` and cached. Later input never changes what an existing snapshot
    shows.
    """

    __slots__ = ("_innermost", "_number", "_outer", "_root", "_value")

    def __init__(
        self,
        innermost: _FrameView | None,
        outer: _Outer,
        root: Any,
        number: tuple[list[str], int, bool] | None,
    ) -> None:
        self._innermost = innermost
        self._outer = outer
        self._root = root
        self._number = number
        self._value: Any = _MISSING

    @property
    def value(self) -> Any:
        """The best-effort value: completed members plus open containers, else ``{}``."""
        value = self._value
        if value is _MISSING:
            value = self._value = self._materialise()
        return value

    def _materialise(self) -> Any:
        if self._root is not _MISSING:
            return self._root
        if self._number is not None:
            parts, count, is_integer = self._number
            text = "".join(parts[:count])
            try:
                return int(text) if is_integer else float(text)
            except ValueError:  # beyond int's digit limit, where json.loads fails too
                return {}
        view, outer = self._innermost, self._outer
        if view is None:
            return {}
        # Views share the parser's append-only lists, so this costs O(depth), not O(size).
        is_object, entries, length, key = view
        child: Any = PartialObject(entries, length, key) if is_object else PartialArray(entries, length)
        while outer is not None:
            (is_object, entries, length, key), outer = outer
            if is_object:
                child = PartialObject(entries, length, key, child)
            else:
                child = PartialArray(entries, length, child)
        return child


class PartialJSONParser:
    """Parses one JSON document fed as successive fragments of text.

    ``feed`` each fragment as it arrives, then read :meth:`snapshot` for what is complete so far.
    Once the text can no longer be valid JSON, :attr:`failed` is set, further input is ignored
    and the snapshot keeps showing what was complete before the error.
    """

    def __init__(self) -> None:
        self._state = _VALUE
        self._stack: list[_Frame] = []
        self._outer: _Outer = None
        self._root: Any = _MISSING
        # Bumped on every structural change; snapshot() rebuilds only when it moved.
        self._version = 0
        self._snapshot: Snapshot | None = None
        self._snapshot_version = -1
        # The token being read when a fragment ends inside it.
        self._string_parts: list[str] = []
        self._string_is_key = False
        self._string_escaped = False
        self._string_after_backslash = False
        self._number_parts: list[str] = []
        self._number_state = _N_START
        self._literal = ""
        self._literal_read = 0

    @property
    def complete(self) -> bool:
        """The root value has closed, with nothing but whitespace after it and no error."""
        if self._state == _DONE:
            return True
        return self._state == _NUMBER and not self._stack and self._number_state in _N_ACCEPTING

    @property
    def failed(self) -> bool:
        """The text seen so far can no longer be the start of a valid JSON document."""
        return self._state == _FAILED

    def feed(self, text: str) -> bool:
        """Consume the next fragment.

        Returns True when the structural state changed (a value or key completed, a container
        opened or closed), i.e. when :meth:`snapshot` now returns a different object.
        """
        state = self._state
        if state == _FAILED or not text:
            return False
        before = self._version
        i, end = 0, len(text)
        while i < end:
            if state <= _DONE:  # between tokens
                char = text[i]
                if char in _WHITESPACE:
                    i += 1
                    continue
                i = self._token(text, char, i)
            elif state == _STRING:
                i = self._scan_string(text, i)
            elif state == _NUMBER:
                i = self._scan_number(text, i)
            else:
                i = self._scan_literal(text, i)
            state = self._state
            if state == _FAILED:
                break
        return self._version != before

    def snapshot(self) -> Snapshot:
        """What is complete so far; the same object until the structural state changes."""
        snapshot = self._snapshot
        if snapshot is not None and self._snapshot_version == self._version:
            return snapshot
        innermost: _FrameView | None = None
        number: tuple[list[str], int, bool] | None = None
        if self._stack:
            top = self._stack[-1]
            innermost = (top.is_object, top.entries, len(top.entries), top.key)
        elif self._state == _NUMBER and self._number_state in _N_ACCEPTING:
            parts = self._number_parts
            number = (parts, len(parts), self._number_state in _N_INTEGER)
        snapshot = self._snapshot = Snapshot(innermost, self._outer, self._root, number)
        self._snapshot_version = self._version
        return snapshot

    # -- tokens ------------------------------------------------------------------------------

    def _token(self, text: str, char: str, i: int) -> int:
        """Handle one non-whitespace character met between tokens; return the next index."""
        state = self._state
        if state == _AFTER:
            top = self._stack[-1]
            if char == ",":
                self._state = _KEY if top.is_object else _VALUE
            elif char == ("}" if top.is_object else "]"):
                self._close()
            else:
                self._state = _FAILED
        elif state == _VALUE or state == _ARRAY_FIRST:
            if char == '"':
                self._start_string(is_key=False)
            elif char in _NUMBER_FIRST:
                match = _WHOLE_NUMBER.match(text, i)
                if match is not None:
                    stop = match.end()
                    if stop < len(text) and text[stop] not in _NUMBER_CHARS:
                        if not self._ends_number(text[stop]):
                            self._state = _FAILED  # "0x10": the 0 was cut short, not finished
                            return stop
                        self._add_number(match.group(), is_integer=match.lastindex is None)
                        return stop
                self._state = _NUMBER
                self._number_state = _N_START
                return i  # cut by the fragment's end, or malformed: the DFA reads it
            elif char == "{":
                self._open(is_object=True)
            elif char == "[":
                self._open(is_object=False)
            elif char in _LITERAL_BY_FIRST:
                self._state = _LITERAL
                self._literal = _LITERAL_BY_FIRST[char]
                self._literal_read = 1
            elif char == "]" and state == _ARRAY_FIRST:
                self._close()
            else:
                self._state = _FAILED
        elif state == _KEY or state == _OBJECT_FIRST:
            if char == '"':
                self._start_string(is_key=True)
            elif char == "}" and state == _OBJECT_FIRST:
                self._close()
            else:
                self._state = _FAILED
        elif state == _COLON and char == ":":
            self._state = _VALUE
        else:  # a missing ':', or anything after the root value
            self._state = _FAILED
        return i + 1

    def _start_string(self, *, is_key: bool) -> None:
        self._state = _STRING
        self._string_is_key = is_key
        self._string_escaped = False

    def _scan_string(self, text: str, i: int) -> int:
        end = len(text)
        start = pos = i
        if self._string_after_backslash:
            self._string_after_backslash = False
            if text[i] not in _ESCAPABLE:
                self._state = _FAILED
                return i
            pos = i + 1
        quote = text.find('"', pos)
        while True:
            backslash = text.find("\\", pos, end if quote < 0 else quote)
            if backslash < 0:
                break
            self._string_escaped = True
            pos = backslash + 2
            if pos > end:
                self._string_after_backslash = True
                break
            if text[backslash + 1] not in _ESCAPABLE:
                self._state = _FAILED
                return backslash
            if quote == backslash + 1:  # that quote was escaped; look for the real one
                quote = text.find('"', pos)
        if quote < 0:
            self._string_parts.append(text[start:])
            return end
        raw = text[start:quote]
        if self._string_parts:
            self._string_parts.append(raw)
            raw = "".join(self._string_parts)
            self._string_parts.clear()
        self._finish_string(raw)
        return quote + 1

    def _finish_string(self, raw: str) -> None:
        value = raw
        if self._string_escaped:
            try:
                value = _STRING_DECODER.decode('"' + raw + '"')
            except ValueError:  # e.g. a bad \u escape
                self._state = _FAILED
                return
        if self._string_is_key:
            self._stack[-1].key = value
            self._state = _COLON
            self._version += 1
        else:
            self._add(value)

    def _scan_number(self, text: str, i: int) -> int:
        end = len(text)
        stop = i
        while stop < end and text[stop] in _NUMBER_CHARS:
            stop += 1
        state = self._number_state
        try:
            for char in text[i:stop]:
                state = _NUMBER_TABLE[state][char]
        except KeyError:
            if not self._stack:
                self._version += 1  # a bare root number may have been shown: stop showing it
            self._state = _FAILED
            return stop
        if stop < end:  # another character follows, so the number is finished (or wrong)
            if state not in _N_ACCEPTING or not self._ends_number(text[stop]):
                if not self._stack:
                    self._version += 1  # a bare root number was shown: stop showing it
                self._state = _FAILED
                return stop
            raw = text[i:stop]
            if self._number_parts:
                raw = "".join(self._number_parts) + raw
                self._number_parts = []  # a fresh list: a root snapshot may hold the old one
            self._add_number(raw, is_integer=state in _N_INTEGER)
            return stop
        if stop > i:
            self._number_parts.append(text[i:stop])
            if not self._stack and (state in _N_ACCEPTING or self._number_state in _N_ACCEPTING):
                self._version += 1  # a bare root number is shown while it is valid so far
        self._number_state = state
        return stop

    def _ends_number(self, char: str) -> bool:
        """Whether ``char`` may follow a number: whitespace, or ',' or the closing bracket."""
        if char in _WHITESPACE:
            return True
        if not self._stack:
            return False
        return char == "," or char == ("}" if self._stack[-1].is_object else "]")

    def _add_number(self, raw: str, *, is_integer: bool) -> None:
        if not is_integer:
            self._add(float(raw))
            return
        try:
            value = int(raw)
        except ValueError:  # beyond int's digit limit, where json.loads fails too
            self._state = _FAILED
            return
        self._add(value)

    def _scan_literal(self, text: str, i: int) -> int:
        literal, read = self._literal, self._literal_read
        chunk = text[i : i + len(literal) - read]
        if not literal.startswith(chunk, read):
            self._state = _FAILED
            return i
        read += len(chunk)
        if read == len(literal):
            self._add(_LITERALS[literal])
        else:
            self._literal_read = read
        return i + len(chunk)

    # -- structure ---------------------------------------------------------------------------

    def _open(self, *, is_object: bool) -> None:
        stack = self._stack
        if stack:
            parent = stack[-1]
            view = (parent.is_object, parent.entries, len(parent.entries), parent.key)
            self._outer = (view, self._outer)
        stack.append(_Frame(is_object))
        self._state = _OBJECT_FIRST if is_object else _ARRAY_FIRST
        self._version += 1

    def _close(self) -> None:
        frame = self._stack.pop()
        if self._outer is not None:
            self._outer = self._outer[1]
        # An array's list is final as it stands: nothing appends to it once it is popped.
        self._add(frame.entries.as_dict() if frame.is_object else frame.entries)

    def _add(self, value: Any) -> None:
        """Attach a completed value to the open container, or make it the root."""
        stack = self._stack
        if stack:
            top = stack[-1]
            if top.is_object:
                top.entries.append(top.key, value)
            else:
                top.entries.append(value)
            self._state = _AFTER
        else:
            self._root = value
            self._state = _DONE
        self._version += 1
