"""Server-sent events: bytes in, events out. No I/O, no asyncio.

Follows the WHATWG event-stream interpretation rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
lines end in ``\\r\\n``, ``\\r`` or ``\\n``, split on bytes and decoded as UTF-8 only once whole
(so a multi-byte character or a ``\\r\\n`` pair cut by the network is handled); ``:`` lines are
comments; ``data`` lines accumulate and join with ``\\n``; ``event``, ``id`` and ``retry`` are kept;
a blank line dispatches. Bytes that are not valid UTF-8 are decoded with replacement (each
maximal invalid sequence becomes one U+FFFD, as the spec's "UTF-8 decode" says) and counted in
``replaced_bytes``, so one broken byte from a model costs one character, not the answer.
One deliberate difference: ``flush()`` at end of body dispatches a pending event that was never
terminated by a blank line, because several real servers end that way.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import APIResponseValidationError

__all__ = ["DEFAULT_MAX_LINE_SIZE", "SSEDecoder", "ServerSentEvent"]

DEFAULT_MAX_LINE_SIZE = 8 * 1024 * 1024
_NEWLINES = re.compile(rb"\r\n|\r|\n")
_ESCAPED = re.compile("[\udc80-\udcff]")  # what "surrogateescape" makes of each invalid byte
_BOM = b"\xef\xbb\xbf"


class ServerSentEvent:
    """One dispatched event: ``event`` type (default ``"message"``), ``data``, ``id``, ``retry``."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(
        self, data: str, event: str = "message", id: str = "", retry: int | None = None
    ) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def __repr__(self) -> str:
        return (
            f"ServerSentEvent(event={self.event!r}, data={self.data!r}, id={self.id!r}, "
            f"retry={self.retry!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (self.data, self.event, self.id, self.retry) == (
            other.data,
            other.event,
            other.id,
            other.retry,
        )

    __hash__ = None  # type: ignore[assignment]


class SSEDecoder:
    """Incremental event-stream decoder: ``feed(bytes) -> [events]``, then ``flush()`` at the end."""

    __slots__ = (
        "_data",
        "_error",
        "_event",
        "_last_id",
        "_max_line_size",
        "_pending",
        "_pending_size",
        "_retry",
        "_skip_lf",
        "_started",
        "replaced_bytes",
    )

    def __init__(self, max_line_size: int = DEFAULT_MAX_LINE_SIZE) -> None:
        self._max_line_size = max_line_size
        self._pending: list[bytes] = []  # pieces of a line not yet terminated
        self._pending_size = 0
        self._skip_lf = False  # the last chunk ended in "\r": a leading "\n" belongs to it
        self._started = False
        self._data: list[str] = []
        self._event = ""
        self._last_id = ""
        self._retry: int | None = None
        self._error: APIResponseValidationError | None = None
        self.replaced_bytes = 0
        """How many bytes were not valid UTF-8 and were replaced with U+FFFD, so far."""

    @property
    def last_event_id(self) -> str:
        return self._last_id

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume the next bytes of the body; return the events they complete, in order.

        A line over ``max_line_size`` raises ``APIResponseValidationError``;
        events completed before it in the same bytes are returned first and the error is raised
        by the next call, so nothing that arrived intact is lost.
        """
        events: list[ServerSentEvent] = []
        self._guarded(self._feed, chunk, events)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End of body: process an unterminated last line and dispatch a pending event."""
        events: list[ServerSentEvent] = []
        self._guarded(self._flush, b"", events)
        return events

    def _guarded(
        self,
        step: Callable[[bytes, list[ServerSentEvent]], None],
        chunk: bytes,
        events: list[ServerSentEvent],
    ) -> None:
        error = self._error
        if error is not None:
            raise error
        try:
            step(chunk, events)
        except APIResponseValidationError as exc:
            if not events:
                raise
            self._error = exc

    def _feed(self, chunk: bytes, events: list[ServerSentEvent]) -> None:
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == 0x0A:
                chunk = chunk[1:]
        if not chunk:
            return
        if b"\r" in chunk:
            lines = _NEWLINES.split(chunk)
            self._skip_lf = chunk[-1] == 0x0D
        else:
            lines = chunk.split(b"\n")
        tail = lines.pop()
        if lines:
            if self._pending:
                self._pending.append(lines[0])
                lines[0] = b"".join(self._pending)
                self._pending.clear()
                self._pending_size = 0
            if not self._started:
                lines[0] = self._strip_bom(lines[0])
            max_size = self._max_line_size
            data = self._data
            for line in lines:
                if len(line) > max_size:
                    self._line_too_long(len(line))
                # The two lines of nearly every event, handled inline: this loop is per chunk.
                if line.startswith(b"data: "):
                    try:
                        data.append(line[6:].decode())
                    except UnicodeDecodeError:
                        data.append(self._replace(line[6:]))
                elif not line:
                    event = self._dispatch()
                    if event is not None:
                        events.append(event)
                        data = self._data
                else:
                    self._process(line)
        if tail:
            self._pending.append(tail)
            self._pending_size += len(tail)
            if self._pending_size > self._max_line_size:
                self._line_too_long(self._pending_size)

    def _flush(self, _: bytes, events: list[ServerSentEvent]) -> None:
        self._skip_lf = False
        if self._pending:
            line = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            if not self._started:
                line = self._strip_bom(line)
            event = self._process(line)
            if event is not None:
                events.append(event)
        event = self._process(b"")
        if event is not None:
            events.append(event)

    def _line_too_long(self, size: int) -> None:
        self._pending.clear()
        self._pending_size = 0
        raise APIResponseValidationError(
            f"event-stream line of at least {size} bytes exceeds the limit of "
            f"{self._max_line_size} bytes (max_line_size)"
        )

    def _strip_bom(self, line: bytes) -> bytes:
        self._started = True
        return line[3:] if line.startswith(_BOM) else line

    def _replace(self, raw: bytes) -> str:
        """Decode bytes that are not all valid UTF-8 (the rare path): replace and count."""
        self.replaced_bytes += len(_ESCAPED.findall(raw.decode("utf-8", "surrogateescape")))
        return raw.decode("utf-8", "replace")

    def _process(self, line: bytes) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == 0x3A:  # ":" comment, e.g. a keep-alive
            return None
        if line.startswith(b"data: "):
            name, value = b"data", line[6:]
        else:
            name, sep, value = line.partition(b":")
            if sep and value[:1] == b" ":
                value = value[1:]
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = self._replace(value)
        if name == b"data":
            self._data.append(text)
        elif name == b"event":
            self._event = text
        elif name == b"id":
            if "\0" not in text:
                self._last_id = text
        elif name == b"retry":
            if text.isascii() and text.isdigit():
                self._retry = int(text)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data = self._data
        if not data:
            self._event = ""
            return None
        event = ServerSentEvent(
            data[0] if len(data) == 1 else "\n".join(data),
            self._event or "message",
            self._last_id,
            self._retry,
        )
        self._data = []
        self._event = ""
        return event
