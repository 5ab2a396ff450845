"""The framing of a native ``/outputs/generate`` stream: bytes in, JSON messages out. No I/O.

Clarifai's published API definition describes ``GenerateModelOutputs`` over HTTP as a
grpc-gateway server stream: one JSON object per message, ``{"result": MultiOutputResponse}``,
separated by newlines, with ``{"error": Status}`` on a failure. That framing has not been
observed live, so the parser accepts every framing a JSON-over-HTTP gateway is known to use:

- newline-delimited (or simply concatenated) JSON objects, pretty-printed ones included;
- one JSON array whose elements arrive over time (``[{...},\\n{...}]``);
- server-sent events whose ``data:`` lines hold the objects (``data: [DONE]`` is ignored).

The mode is chosen from the first non-blank bytes. Objects are found by a small scanner that
tracks brace depth outside strings, so a ``\\n`` or a ``}`` inside a string never splits one,
and a multi-byte UTF-8 character cut by the network is decoded only once whole. Objects larger
than ``max_size`` bytes raise rather than grow without bound.
"""

from __future__ import annotations

from typing import Any

import orjson

from ._error_body import excerpt
from .errors import APIResponseValidationError
from .sse import SSEDecoder

__all__ = ["FRAMINGS", "JSONStreamParser"]

FRAMINGS = ("ndjson", "json-array", "sse")
_BLANK = b" \t\r\n"
_QUOTE, _BACKSLASH = 0x22, 0x5C
_OPEN = frozenset(b"{[")
_CLOSE = frozenset(b"}]")
_BOM = b"\xef\xbb\xbf"
_SSE_FIELDS = (b"data:", b"event:", b"id:", b"retry:")


class JSONStreamParser:
    """Feed response bytes, get the parsed JSON objects completed so far, in order.

    >>> parser = JSONStreamParser()
    >>> parser.feed(b'{"result": {"a": 1}}\\n{"res')
    [{'result': {'a': 1}}]
    >>> parser.feed(b'ult": {}}\\n') + parser.flush()
    [{'result': {}}]
    """

    def __init__(self, max_size: int = 8 * 1024 * 1024) -> None:
        self.max_size = max_size
        self.framing: str | None = None
        """``"ndjson"``, ``"json-array"`` or ``"sse"`` once the first bytes have decided."""
        self._buffer = bytearray()
        self._scan = 0  # offset in _buffer up to which bytes have been scanned
        self._start = -1  # offset of the current object's first byte, or -1 between objects
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._array_open = self._array_closed = False
        self._sse: SSEDecoder | None = None

    def feed(self, data: bytes) -> list[Any]:
        """The objects that ``data`` completes (possibly none)."""
        if self.framing == "sse":
            assert self._sse is not None
            return self._from_events(self._sse.feed(data))
        self._buffer += data
        if self.framing is None and not self._choose():
            return []
        if self.framing == "sse":
            assert self._sse is not None
            held = bytes(self._buffer)
            self._buffer.clear()
            return self._from_events(self._sse.feed(held))
        return self._objects()

    def flush(self) -> list[Any]:
        """At end of body: what is left must be blank (or a cut-off object, which raises)."""
        if self.framing == "sse":
            assert self._sse is not None
            return self._from_events(self._sse.flush())
        if self._start >= 0:
            rest = bytes(self._buffer[self._start :])
        else:
            rest = bytes(self._buffer) if self.framing is None else b""
        if rest.strip(_BLANK):
            raise APIResponseValidationError(
                f"the stream ended inside a JSON object ({len(rest)} bytes received of it): "
                f"{excerpt(rest, 80)}",
                body=excerpt(rest),
            )
        # A JSON array cut before its "]" is accepted: every element that arrived whole counts.
        return []

    # -- framing ------------------------------------------------------------------------------

    def _choose(self) -> bool:
        if _BOM.startswith(self._buffer):
            return False  # empty, or a byte-order mark cut by the network
        if self._buffer.startswith(_BOM):
            del self._buffer[:3]
        head = bytes(self._buffer).lstrip(_BLANK)
        if not head:
            return False
        if head[:1] == b"{":
            self.framing = "ndjson"
        elif head[:1] == b"[":
            self.framing = "json-array"
        elif head[:1] == b":" or head.startswith(_SSE_FIELDS):
            self.framing = "sse"
            self._sse = SSEDecoder(self.max_size)
        elif any(field.startswith(head) for field in _SSE_FIELDS):
            return False  # "da" may yet become "data:"
        else:
            raise APIResponseValidationError(
                f"the stream is neither JSON nor server-sent events: {excerpt(head, 80)}",
                body=excerpt(head),
            )
        return True

    def _from_events(self, events: list[Any]) -> list[Any]:
        out: list[Any] = []
        for event in events:
            data = event.data.strip()
            if not data or data == "[DONE]":
                continue
            out.append(_loads(data.encode()))
        return out

    # -- the scanner --------------------------------------------------------------------------

    def _objects(self) -> list[Any]:
        """Scan the new bytes; return each top-level object (array element) completed."""
        out: list[Any] = []
        buf = self._buffer
        base = 1 if self.framing == "json-array" else 0
        i, end = self._scan, len(buf)
        depth, in_string, escaped, start = self._depth, self._in_string, self._escaped, self._start
        while i < end:
            byte = buf[i]
            if in_string:
                if escaped:
                    escaped = False
                elif byte == _BACKSLASH:
                    escaped = True
                elif byte == _QUOTE:
                    in_string = False
            elif start >= 0:  # inside an object
                if byte == _QUOTE:
                    in_string = True
                elif byte in _OPEN:
                    depth += 1
                elif byte in _CLOSE:
                    depth -= 1
                    if depth == base:
                        out.append(_loads(bytes(buf[start : i + 1])))
                        start = -1
            # between objects:
            elif byte == 0x7B and (not base or self._array_open):  # "{"
                start = i
                depth = base + 1
            elif byte in _BLANK:
                pass
            elif base and byte == 0x5B and not self._array_open and not self._array_closed:
                self._array_open = True  # "["
            elif base and self._array_open and byte == 0x2C:  # "," between elements
                pass
            elif base and self._array_open and byte == 0x5D:  # "]"
                self._array_open, self._array_closed = False, True
            else:
                raise self._junk(buf, i)
            i += 1
        if start >= 0 and i - start > self.max_size:
            raise APIResponseValidationError(
                f"a streamed JSON object is larger than {self.max_size} bytes: "
                f"{excerpt(bytes(buf[start : start + 80]), 80)}"
            )
        # Keep only the unfinished object: everything before it has been handed out.
        if start >= 0:
            del buf[:start]
            i -= start
            start = 0
        else:
            buf.clear()
            i = 0
        self._scan, self._depth, self._in_string, self._escaped, self._start = (
            i, depth, in_string, escaped, start
        )
        return out

    def _junk(self, buf: bytearray, at: int) -> APIResponseValidationError:
        piece = bytes(buf[at : at + 80])
        return APIResponseValidationError(
            f"unexpected bytes between streamed JSON objects: {excerpt(piece, 80)}",
            body=excerpt(piece),
        )


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise APIResponseValidationError(
            f"malformed JSON in the stream: {excerpt(raw, 120)}", body=excerpt(raw)
        ) from None
