"""Read-only views of the containers a :class:`~aclarifai._partial_json.PartialJSONParser` has open.

A snapshot of JSON that is still arriving must not change when more text comes, yet copying the
open containers for every snapshot costs time proportional to their size, so reading a snapshot
after every fragment of a long document would cost quadratic time. These views share the
parser's append-only lists instead: a view is the first ``length`` members of its container,
plus the open child container being read (itself a view), and building one is O(1).

:class:`PartialObject` is a ``Mapping[str, Any]`` and :class:`PartialArray` a ``Sequence[Any]``;
both compare equal to the ``dict``/``list`` they show, and :func:`plain` (or their ``to_dict()``
/ ``to_list()``) turns one into plain dicts and lists, e.g. to serialise it. Finished containers
inside a view are the parser's own dicts and lists, shared, so treat everything as read-only.
"""

from __future__ import annotations

import copy
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

__all__ = ["ObjectEntries", "PartialArray", "PartialObject", "plain"]

_NO_CHILD: Any = object()


class ObjectEntries:
    """An open object's members as they complete: (key, value) pairs, never changed once added.

    Kept with an index so a view of the first ``length`` pairs answers ``view[key]`` in O(1)
    (O(log n) for a key seen more than once: the last occurrence wins, as in ``json.loads``).
    """

    __slots__ = ("first", "pairs", "repeats", "where")

    def __init__(self) -> None:
        self.pairs: list[tuple[str, Any]] = []
        self.first: dict[str, int] = {}  # key -> position of its first occurrence
        self.where: dict[str, list[int]] = {}  # only for repeated keys: every position, ascending
        self.repeats: list[int] = []  # positions that repeat an earlier key, ascending

    def append(self, key: str, value: Any) -> None:
        position = len(self.pairs)
        self.pairs.append((key, value))
        first = self.first.setdefault(key, position)
        if first != position:
            self.where.setdefault(key, [first]).append(position)
            self.repeats.append(position)

    def __len__(self) -> int:
        return len(self.pairs)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.pairs)

    def position(self, key: str, length: int) -> int:
        """Where the value of ``key`` among the first ``length`` pairs is, or -1."""
        first = self.first.get(key, length)
        if first >= length:
            return -1
        positions = self.where.get(key)
        if positions is None:
            return first
        return positions[bisect_left(positions, length) - 1]

    def distinct(self, length: int) -> int:
        return length - bisect_left(self.repeats, length)


class PartialObject(Mapping[str, Any]):
    """An object still being parsed, as it stood at one snapshot; read-only."""

    __slots__ = ("_child", "_entries", "_key", "_length")

    def __init__(self, entries: ObjectEntries, length: int, key: str, child: Any = _NO_CHILD) -> None:
        self._entries = entries
        self._length = length
        self._key = key  # where the open child goes
        self._child = child

    def __getitem__(self, key: str) -> Any:
        if self._child is not _NO_CHILD and key == self._key:
            return self._child
        position = self._entries.position(key, self._length)
        if position < 0:
            raise KeyError(key)
        return self._entries.pairs[position][1]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return (self._child is not _NO_CHILD and key == self._key) or self._entries.position(
            key, self._length
        ) >= 0

    def __len__(self) -> int:
        count = self._entries.distinct(self._length)
        if self._child is not _NO_CHILD and self._entries.position(self._key, self._length) < 0:
            count += 1
        return count

    def __iter__(self) -> Iterator[str]:
        first = self._entries.first
        pairs = self._entries.pairs
        for position in range(self._length):
            key = pairs[position][0]
            if first[key] == position:
                yield key
        if self._child is not _NO_CHILD and self._entries.position(self._key, self._length) < 0:
            yield self._key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(self) == len(other) and all(
            key in other and self[key] == other[key] for key in self
        )

    __hash__ = None  # type: ignore[assignment]  # like dict

    def __repr__(self) -> str:
        return repr(self.to_dict())

    def __copy__(self) -> Any:
        return self  # read-only

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return copy.deepcopy(self.to_dict(), memo)

    def __reduce__(self) -> Any:
        return (dict, (self.to_dict(),))  # pickles as the plain value

    def to_dict(self) -> dict[str, Any]:
        """A plain ``dict`` of what this view shows (open children converted too)."""
        result: dict[str, Any] = plain(self)
        return result


class PartialArray(Sequence[Any]):
    """An array still being parsed, as it stood at one snapshot; read-only."""

    __slots__ = ("_child", "_items", "_length")

    def __init__(self, items: list[Any], length: int, child: Any = _NO_CHILD) -> None:
        self._items = items
        self._length = length
        self._child = child

    def __len__(self) -> int:
        return self._length + (self._child is not _NO_CHILD)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("PartialArray index out of range")
        return self._child if index == self._length else self._items[index]

    def __iter__(self) -> Iterator[Any]:
        items = self._items
        for position in range(self._length):
            yield items[position]
        if self._child is not _NO_CHILD:
            yield self._child

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (list, PartialArray)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # like list

    def __repr__(self) -> str:
        return repr(self.to_list())

    def __copy__(self) -> Any:
        return self  # read-only

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return copy.deepcopy(self.to_list(), memo)

    def __reduce__(self) -> Any:
        return (list, (self.to_list(),))  # pickles as the plain value

    def to_list(self) -> list[Any]:
        """A plain ``list`` of what this view shows (open children converted too)."""
        result: list[Any] = plain(self)
        return result


def plain(value: Any) -> Any:
    """``value`` with every view in it turned into a plain dict or list (finished parts shared).

    Only the open containers are views, and each holds at most one open child, so this walks one
    path down; it needs no recursion however deep the document is.
    """
    if not isinstance(value, (PartialObject, PartialArray)):
        return value
    # Collect the chain of open views, outermost first, then rebuild innermost first.
    chain: list[PartialObject | PartialArray] = []
    view: Any = value
    while isinstance(view, (PartialObject, PartialArray)):
        chain.append(view)
        view = view._child
    child: Any = _NO_CHILD
    for view in reversed(chain):
        if isinstance(view, PartialObject):
            members = dict(view._entries.pairs[: view._length])
            if child is not _NO_CHILD:
                members[view._key] = child
            child = members
        else:
            items = view._items[: view._length]
            if child is not _NO_CHILD:
                items.append(child)
            child = items
    return child
