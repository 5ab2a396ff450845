"""Web relay: a completion's or an agent's events as a Server-Sent Events response.

``aiohttp_sse_response(request, events)`` and ``starlette_sse_response(events)`` (FastAPI too)
send each event as one SSE message whose data is a JSON object with a ``type``; the shapes are
listed in ``docs/web.md`` and are a stable contract. ``EventEncoder`` (events to message dicts,
no I/O) and ``sse_stream`` (the response body as bytes, with keep-alive pings) are public so that
other frameworks can be wired up in a few lines.

The events are read by a task of their own and handed over through a small queue, so that the
body can send a ``: ping`` comment while the model or a tool is silent, and so that the
events' async generator always runs in one task (an agent's tool tasks are tied to it). When the
response stops early (the browser went away, the handler was cancelled), that task is cancelled
and the events' ``aclose()`` is awaited: the Clarifai stream is closed and running tools are
cancelled. Starlette is imported only by ``starlette_sse_response``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ._partial_views import PartialArray, PartialObject, plain
from ._request import CompletionRequest
from .errors import APIError, ClarifaiError
from .streaming import CompletionStream
from .types import Usage

if TYPE_CHECKING:
    from aiohttp import web
    from starlette.responses import StreamingResponse

__all__ = [
    "DEFAULT_PING_INTERVAL",
    "SSE_HEADERS",
    "EventEncoder",
    "Events",
    "aiohttp_sse_response",
    "format_sse",
    "sse_stream",
    "starlette_sse_response",
]

logger = logging.getLogger("aclarifai.web")

DEFAULT_PING_INTERVAL = 15.0
"""Seconds of silence after which a ``: ping`` comment is sent (proxies drop idle streams)."""

SSE_HEADERS: Mapping[str, str] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
}

PING = b": ping\n\n"
_QUEUE_SIZE = 32  # events read ahead of the response; beyond that the upstream read waits
_INTERNAL_ERROR = "internal server error"

Events = AsyncIterable[Any] | CompletionStream | CompletionRequest[Any]
"""What the relays accept: ``stream.events()``, ``agent.stream(...)``, or the stream itself."""


def format_sse(message: Mapping[str, Any]) -> bytes:
    """One SSE message (``data: {json}`` and a blank line); JSON has no raw newlines."""
    return b"data: " + _dumps(message) + b"\n\n"


class _Call:
    """A tool call the relay has announced: its ``key`` and what identifies it later."""

    __slots__ = ("id", "key", "name")

    def __init__(self, key: int, call_id: str | None, name: str | None) -> None:
        self.key = key
        self.id = call_id
        self.name = name


class EventEncoder:
    """Turns stream events and agent events into web messages (dicts); no I/O.

    One encoder per response: it numbers tool calls (``key``, unique within the response, also
    across agent turns, where ``index`` starts again at 0) and sums usage over agent turns.

    Examples:
        >>> encoder = EventEncoder()
        >>> async for event in stream.events():
        ...     message = encoder.encode(event)  # None for events that are not relayed
        ...     if message is not None:
        ...         send(message)
        >>> send(encoder.done())
    """

    def __init__(self, *, partial_arguments: bool = True) -> None:
        self.partial_arguments = partial_arguments
        self._next_key = 0
        self._turn_calls: dict[int, _Call] = {}  # stream index -> call, for the current turn
        self._pending: list[_Call] = []  # announced calls still waiting for their result
        self._turns_usage: Usage | None = None  # summed over the finished agent turns
        self._turn_usage: Usage | None = None
        self._finish_reason: str | None = None

    def encode(self, event: Any) -> dict[str, Any] | None:
        """The message for ``event``, or None when it is not relayed (see docs/web.md)."""
        kind = getattr(event, "type", None)
        if getattr(event, "choice", 0) != 0:
            return None  # one answer per response: the first choice
        if kind == "content.delta":
            return {"type": "text.delta", "text": event.text}
        if kind == "reasoning.delta":
            return {"type": "reasoning.delta", "text": event.text}
        if kind == "refusal.delta":
            return {"type": "refusal.delta", "text": event.text}
        if kind == "tool_call.started":
            call = self._start(event.index, event.id, event.name)
            return {
                "type": "tool_call.started", "key": call.key, "index": event.index,
                "id": event.id, "name": event.name,
            }
        if kind == "tool_call.arguments.delta":
            call = self._turn_calls.get(event.index) or self._start(event.index, None, None)
            parsed = event.parsed_so_far if self.partial_arguments else None
            return {
                "type": "tool_call.arguments.delta", "key": call.key, "index": event.index,
                "text": event.delta, "parsed": parsed,
            }
        if kind == "tool_call.done":
            return self._done_call(event.index, event.tool_call)
        if kind == "tool_call.result":
            return self._result(event)
        if kind == "usage":
            self._turn_usage = event.usage
            return self._usage()
        if kind == "finished":
            self._finish_reason = event.finish_reason
        elif kind == "turn.finished":
            usage = event.usage or self._turn_usage
            if usage is not None:
                self._turns_usage = usage + self._turns_usage
            self._turn_usage = None
            self._turn_calls = {}
        return None

    def done(self) -> dict[str, Any]:
        """The last message of a response that ended normally."""
        return {"type": "done", "finish_reason": self._finish_reason}

    @staticmethod
    def error(exc: BaseException) -> dict[str, Any]:
        """The last message of a response whose events raised ``exc``.

        aclarifai's errors carry their own message (which never holds the PAT); any other
        exception is reported as an internal error, by type name only, and logged.
        """
        if isinstance(exc, ClarifaiError):
            message = str(exc)
        else:
            message = _INTERNAL_ERROR
            logger.error("the relayed events raised", exc_info=exc)
        api = exc if isinstance(exc, APIError) else None
        return {
            "type": "error",
            "error_type": type(exc).__name__,
            "message": message,
            "status_code": api.status_code if api else None,
            "request_id": api.request_id if api else None,
        }

    # -- tool calls -----------------------------------------------------------------------------

    def _start(self, index: int, call_id: str | None, name: str | None) -> _Call:
        call = _Call(self._next_key, call_id, name)
        self._next_key += 1
        self._turn_calls[index] = call
        self._pending.append(call)
        return call

    def _done_call(self, index: int, tool_call: Any) -> dict[str, Any]:
        call = self._turn_calls.get(index) or self._start(index, tool_call.id, tool_call.function.name)
        function = tool_call.function
        call.id = tool_call.id or call.id
        call.name = function.name or call.name
        try:
            parsed: dict[str, Any] | None = function.parse_arguments()
        except ValueError:
            parsed = None
        return {
            "type": "tool_call.done", "key": call.key, "index": index, "id": tool_call.id,
            "name": function.name, "arguments": function.arguments or "", "parsed": parsed,
        }

    def _result(self, event: Any) -> dict[str, Any]:
        call_id, name = event.call.id, event.call.function.name
        call = self._claim(call_id, name)
        return {
            "type": "tool_call.result", "key": call.key, "id": call_id, "name": name,
            "output": event.output, "error": event.error, "duration": event.duration,
        }

    def _claim(self, call_id: str | None, name: str | None) -> _Call:
        """The announced call a result belongs to: same id, else the oldest of that name.

        An agent gives a call a new id when the server sent none (or repeated one), so the id
        alone cannot always find it.
        """
        pending = self._pending
        for test in (lambda c: c.id == call_id, lambda c: c.name == name, lambda c: True):
            for position, call in enumerate(pending):
                if test(call):
                    return pending.pop(position)
        call = _Call(self._next_key, call_id, name)
        self._next_key += 1
        return call

    def _usage(self) -> dict[str, Any]:
        total = self._turn_usage + self._turns_usage if self._turn_usage else self._turns_usage
        total = total or Usage()
        return {
            "type": "usage",
            "prompt_tokens": total.prompt_tokens,
            "completion_tokens": total.completion_tokens,
            "total_tokens": total.total_tokens,
        }


# -- the body, framework-free -------------------------------------------------------------------


class _End:
    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


_background: set[asyncio.Task[None]] = set()  # readers left to finish while their relay unwinds


def _event_iterator(events: Events) -> AsyncIterator[Any]:
    if isinstance(events, CompletionRequest):
        return events._open_stream().events()
    if isinstance(events, CompletionStream):
        return events.events()
    return aiter(events)


class _Reader:
    """The task that moves the events into a queue, then an ``_End``, and closes them."""

    def __init__(self, iterator: AsyncIterator[Any]) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_SIZE)
        self._stopping = False
        self.task = asyncio.create_task(self._run(iterator), name="aclarifai relay reader")

    async def _run(self, iterator: AsyncIterator[Any]) -> None:
        error: BaseException | None = None
        try:
            async for event in iterator:
                await self.queue.put(event)
        except asyncio.CancelledError as exc:
            if self._stopping:
                raise
            error = exc  # the events cancelled themselves: report it rather than hang the body
        except Exception as exc:
            error = exc
        finally:
            aclose = getattr(iterator, "aclose", None)
            try:
                if aclose is not None:
                    await aclose()
            except Exception as exc:
                error = error or exc
        await self.queue.put(_End(error))

    async def stop(self) -> None:
        """Cancel the reader and wait until the events are closed (upstream stream, tools)."""
        task = self.task
        if not task.done():
            self._stopping = True
            task.cancel()
            try:
                await asyncio.wait({task})
            except asyncio.CancelledError:
                # We are being cancelled ourselves (anyio keeps re-cancelling): let the reader
                # finish closing the events on its own, but never lose track of it.
                _background.add(task)
                task.add_done_callback(_forget)
                raise
        _forget(task)


def _forget(task: asyncio.Task[None]) -> None:
    _background.discard(task)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: the reader reports what it catches through the queue


async def sse_stream(
    events: Events,
    *,
    ping_interval: float | None = DEFAULT_PING_INTERVAL,
    partial_arguments: bool = True,
) -> AsyncGenerator[bytes, None]:
    """The SSE body for ``events``: messages (batched when several are ready), pings, the end.

    The last message is ``done``, or ``error`` when the events raised. Closing this generator
    before the end (``aclose()``, or cancelling the task iterating it) closes the events.
    ``ping_interval=None`` sends no pings.
    """
    if ping_interval is not None and not ping_interval > 0:
        raise ValueError(f"ping_interval must be a positive number of seconds or None, not {ping_interval!r}")
    encoder = EventEncoder(partial_arguments=partial_arguments)
    reader = _Reader(_event_iterator(events))
    queue = reader.queue
    try:
        while True:
            if queue.empty():
                try:
                    item = await asyncio.wait_for(queue.get(), ping_interval)
                except asyncio.TimeoutError:
                    yield PING
                    continue
            else:
                item = queue.get_nowait()
            batch: list[bytes] = []
            while True:
                if type(item) is _End:
                    last = encoder.done() if item.error is None else encoder.error(item.error)
                    batch.append(format_sse(last))
                    yield b"".join(batch)
                    return
                message = encoder.encode(item)
                if message is not None:
                    batch.append(format_sse(message))
                if queue.empty():
                    break
                item = queue.get_nowait()
            if batch:
                yield b"".join(batch)
    finally:
        await reader.stop()


# -- frameworks ---------------------------------------------------------------------------------


async def aiohttp_sse_response(
    request: web.BaseRequest,
    events: Events,
    *,
    ping_interval: float | None = DEFAULT_PING_INTERVAL,
    partial_arguments: bool = True,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Relay ``events`` to the browser as SSE; returns the finished ``web.StreamResponse``.

    A disconnect is noticed at the next write (a message or a ping); run the app with
    ``handler_cancellation=True`` to have aiohttp cancel the handler, and the relay, at once.

    Examples:
        >>> async def chat(request: web.Request) -> web.StreamResponse:
        ...     body = await request.json()
        ...     return await aiohttp_sse_response(request, agent.stream(body["messages"]))
    """
    from aiohttp import web

    response = web.StreamResponse(status=status, headers={**SSE_HEADERS, **(headers or {})})
    body = sse_stream(events, ping_interval=ping_interval, partial_arguments=partial_arguments)
    connected = True
    try:
        await response.prepare(request)
        async for data in body:
            await response.write(data)
    except ConnectionResetError:  # the browser went away (aiohttp's own error subclasses it)
        connected = False
    finally:
        await body.aclose()
    if connected:
        await response.write_eof()
    return response


def starlette_sse_response(
    events: Events,
    *,
    ping_interval: float | None = DEFAULT_PING_INTERVAL,
    partial_arguments: bool = True,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> StreamingResponse:
    """A Starlette (or FastAPI) ``StreamingResponse`` relaying ``events`` as SSE.

    Starlette cancels the body when the client disconnects, which closes the events.

    Examples:
        >>> @app.post("/chat")
        ... async def chat(body: ChatBody) -> StreamingResponse:
        ...     return starlette_sse_response(agent.stream(body.messages))
    """
    from starlette.responses import StreamingResponse

    body = sse_stream(events, ping_interval=ping_interval, partial_arguments=partial_arguments)
    all_headers = {**SSE_HEADERS, **(headers or {})}
    media_type = all_headers.pop("Content-Type")
    return StreamingResponse(body, status_code=status_code, headers=all_headers, media_type=media_type)


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_jsonable, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # e.g. a tool output with an int over 64 bits
        fixed = dict(value)
        fixed["output"] = str(fixed.get("output"))
        return orjson.dumps(fixed, default=str, option=orjson.OPT_NON_STR_KEYS)


def _jsonable(value: Any) -> Any:
    """orjson's fallback: sets as lists, bytes as text, pydantic models dumped, the rest str()."""
    if isinstance(value, (PartialObject, PartialArray)):  # an open container of parsed_so_far
        return plain(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    return str(value)
