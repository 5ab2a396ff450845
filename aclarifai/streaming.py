"""CompletionStream: one streamed completion, from response bytes to chunks and events.

The transport hands over an open response; this module pumps its bytes through the SSE decoder,
parses each event with orjson, feeds the accumulator and yields chunks (or typed events). Before
the first chunk reaches the caller a failed attempt is retried; after it, never (no duplicated
text). A body that ends without ``[DONE]`` and without a ``finish_reason`` on every choice it
began is a failure like a dropped connection (checked once, at the end of the body). Whatever
ends an attempt that had received a chunk is raised as a ``StreamError`` subclass, with
``.partial``. The connection is released at end of stream, on ``aclose()``, on leaving
``async with``, on cancellation and when an abandoned stream is garbage-collected.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import orjson

from . import _retry
from ._error_body import error_in_body, excerpt, is_error_chunk, stream_error
from ._http import read_at_most
from ._request_id import request_id_of
from .accumulate import ChunkAccumulator
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    StreamConnectionError,
    StreamError,
    StreamStatusError,
    StreamTimeoutError,
    StreamValidationError,
)
from .events import StreamEvent
from .hooks import Observer
from .sse import ServerSentEvent, SSEDecoder
from .types import ChatCompletion, ChatCompletionChunk, Usage, chunk_view

__all__ = ["CompletionStream"]

logger = logging.getLogger("aclarifai")

# (error, attempt) -> delay before retrying, or None to give up
RetryPolicy = Callable[[APIError, int], float | None]
Opener = Callable[[], Awaitable[aiohttp.ClientResponse]]
_NOT_A_STREAM_LIMIT = 64 * 1024  # bytes read from a 2xx answer that is not an event stream


class CompletionStream:
    """An async iterator of ``ChatCompletionChunk`` for one streamed completion.

    >>> async with client.acompletion(model=M, messages=msgs, stream=True) as stream:
    ...     async for chunk in stream:
    ...         print(chunk.choices[0].delta.content or "", end="")
    ...     completion = await stream.get_final_completion()
    """

    def __init__(
        self,
        opener: Opener,
        retry_policy: RetryPolicy,
        *,
        max_line_size: int,
        on_end: Callable[[CompletionStream, BaseException | None], None] | None = None,
        observer_of: Callable[[], Observer | None] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._observer_of = observer_of
        self._sleep = sleep  # the wait before a retry (the client's, which its aclose() ends)
        self._end_unreported = False  # set at the end of the body, until on_response has fired
        self._status = 0
        self._opener = opener
        self._retry_policy = retry_policy
        self._max_line_size = max_line_size
        self._on_end = on_end
        self._response: aiohttp.ClientResponse | None = None
        self._attempt = 0
        self._handed_out = False  # once a chunk or event reached the caller, never retry
        self._finished = False
        self._error: APIError | None = None
        self._event_buffer: list[StreamEvent] | None = None
        self.response_headers: Mapping[str, str] = {}
        self.request_id: str | None = None
        self._queue: deque[dict[str, Any]] = deque()
        self._events: deque[StreamEvent] = deque()
        self._on_read: Callable[[list[ServerSentEvent]], None] | None = None  # telemetry only
        self._reset()

    def _reset(self) -> None:
        """Forget a failed attempt. The queues are emptied in place: ``__anext__`` holds them."""
        self._decoder = SSEDecoder(self._max_line_size)
        self._accumulator = ChunkAccumulator()
        self._queue.clear()
        self._events.clear()
        self._saw_data = False
        self._saw_done = False
        self._complete = False
        self._chunks = 0  # data events of this attempt, counted per read (for messages)

    # -- public API ---------------------------------------------------------------------------

    @property
    def completion(self) -> ChatCompletion:
        """The completion assembled from what has been received so far."""
        return self._accumulator.completion()

    @property
    def usage(self) -> Usage | None:
        """The last token usage reported so far."""
        return self._accumulator.usage

    @property
    def accumulator(self) -> ChunkAccumulator:
        return self._accumulator

    @property
    def complete(self) -> bool:
        """True once the body ended whole: with ``[DONE]``, or a ``finish_reason`` on every choice.

        A stream that ends any other way raises (``StreamError`` once a chunk arrived), so this
        is False only while the stream is being read, or after it was closed or failed.
        """
        return self._complete

    @property
    def replaced_bytes(self) -> int:
        """How many bytes of the body were not valid UTF-8 and were read as U+FFFD (usually 0)."""
        return self._decoder.replaced_bytes

    def __aiter__(self) -> CompletionStream:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        queue = self._queue
        while not queue:
            if self._error is not None:
                raise self._error
            if self._finished:
                raise StopAsyncIteration
            await self._pump()
        self._handed_out = True
        return chunk_view(queue.popleft())

    async def events(self) -> AsyncGenerator[StreamEvent, None]:
        """The stream as typed events (``aclarifai.events``), ending with ``Finished``."""
        self._event_buffer = []
        try:
            while True:
                while self._events:
                    self._handed_out = True
                    yield self._events.popleft()
                if self._error is not None:
                    raise self._error
                if self._finished:
                    return
                await self._pump()
        finally:
            self._event_buffer = None
            if not self._finished:
                await self.aclose()

    async def get_final_completion(self) -> ChatCompletion:
        """Read what is left of the stream and return the assembled ``ChatCompletion``."""
        while True:
            self._queue.clear()
            self._events.clear()
            if self._error is not None:
                raise self._error
            if self._finished:
                return self._accumulator.completion()
            await self._pump()

    async def aclose(self) -> None:
        """Stop reading and release the connection (idempotent)."""
        if not self._finished:
            self._finished = True
            self._queue.clear()
            self._events.clear()
            self._close_response(abort=True)
            self._notify_end(None)
            observer = self._observer()
            if observer is not None:
                observer.abandon(None)

    async def __aenter__(self) -> CompletionStream:
        if self._response is None and not self._finished:
            # Surface connection and status errors here, like the OpenAI SDK, but read no body:
            # the caller has yet to choose between chunks and events.
            await self._pump(read=False)
            if self._error is not None:
                raise self._error
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # An abandoned stream (a `break` out of `async for`, a dropped reference) frees its
        # connection here rather than leaving it to aiohttp's "Unclosed connection" warning.
        response = getattr(self, "_response", None)
        if response is not None and not response.closed:
            response.close()

    # -- the pump -----------------------------------------------------------------------------

    async def _pump(self, *, read: bool = True) -> None:
        """Read once from the network and process what arrived (with retries before output)."""
        while not self._finished:  # aclose() from another task also ends a retry loop
            try:
                if self._response is None:
                    await self._open()
                    if self._finished:  # aclose() while connecting: drop the new response
                        self._close_response(abort=True)
                        return
                if read:
                    try:
                        await self._read_once()
                    except (APIError, asyncio.CancelledError):
                        raise
                    except Exception as exc:
                        # Input of a shape nothing checked for must still end as a typed error.
                        raise APIResponseValidationError(
                            f"could not process the stream: {type(exc).__name__}: {exc}",
                            request_id=self.request_id,
                        ) from exc
                if self._end_unreported:
                    await self._report_end()
                return
            except APIError as error:
                delay, failure = self._failed(error)  # `error` is unbound after the clause
            except BaseException as exc:
                self._abandon(exc)
                raise
            try:
                observer = self._observer()
                if observer is not None:
                    await observer.error(failure, will_retry=delay is not None, delay=delay)
                if delay is None:
                    return
                await (_retry.sleep(delay) if self._sleep is None else self._sleep(delay))
            except BaseException as exc:
                self._abandon(exc)
                raise

    def _failed(self, error: APIError) -> tuple[float | None, APIError]:
        """End this attempt: the delay before the next one (None if final), and the error.

        A final error of an attempt that had received a chunk becomes its ``StreamError`` form.
        """
        self._close_response(abort=True)
        self._response = None
        if self._finished:  # closed meanwhile: the caller wants nothing more
            return None, error
        if error.request_id is None:
            error.request_id = self.request_id
        delay = None if self._handed_out else self._retry_policy(error, self._attempt)
        if delay is None:
            if error.partial is None:
                error.partial = self._partial()
            if self._saw_data:
                error = _after_output(error)
            self._finished = True
            self._error = error
            self._notify_end(error)
            return None, error
        self._attempt += 1
        self._reset()
        return delay, error

    def _abandon(self, exc: BaseException) -> None:
        """Cancelled (or failed unexpectedly): close now; iterating again raises, with partial."""
        if not self._finished:
            self._finished = True
            if isinstance(exc, APIError):  # e.g. the client was closed during a retry's wait
                self._error = exc
                if exc.partial is None:
                    exc.partial = self._partial()
            else:
                if isinstance(exc, asyncio.CancelledError):
                    message = "the stream was cancelled; it cannot be resumed"
                else:
                    message = f"the stream was interrupted by {type(exc).__name__}"
                cls = StreamConnectionError if self._saw_data else APIConnectionError
                self._error = cls(message, request_id=self.request_id, partial=self._partial())
            observer = self._observer()
            if observer is not None:
                observer.abandon(exc)
        self._close_response(abort=True)
        self._notify_end(None)

    def _partial(self) -> ChatCompletion | None:
        try:
            return self._accumulator.completion()
        except Exception:  # a hostile chunk may have left the accumulator unusable
            return None

    def _observer(self) -> Observer | None:
        return self._observer_of() if self._observer_of is not None else None

    async def _report_end(self) -> None:
        """Fire ``on_response`` for a stream read to its end."""
        self._end_unreported = False
        observer = self._observer()
        if observer is not None:
            await observer.response(
                status=self._status, request_id=self.request_id, usage=self._accumulator.usage,
                model=self._accumulator.model, answer=self._accumulator,
            )

    async def _open(self) -> None:
        response = await self._opener()
        self._response = response
        observer = self._observer()
        self._on_read = observer.read_hook() if observer is not None else None
        self._status = response.status
        self.response_headers = response.headers
        self.request_id = request_id_of(response.headers)
        content_type = response.headers.get("Content-Type", "")
        if "text/event-stream" not in content_type:
            raise await self._not_a_stream(response, content_type)

    async def _not_a_stream(self, response: aiohttp.ClientResponse, content_type: str) -> APIError:
        """The error for a 2xx answer that is not an event stream: an error body, a proxy page."""
        raw = await read_at_most(response, _NOT_A_STREAM_LIMIT)
        if "json" in content_type:
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = None
            error = error_in_body(body, response.status, self.request_id, response.headers)
            if error is not None:
                return error
        return APIResponseValidationError(
            f"expected an event stream, got {content_type or 'no content type'!r}: "
            f"{excerpt(raw) or '(empty body)'}",
            status_code=response.status,
            request_id=self.request_id,
            body=excerpt(raw),
            headers=response.headers,
        )

    async def _read_once(self) -> None:
        response = self._response
        assert response is not None
        try:
            raw = await response.content.readany()
        except asyncio.TimeoutError:
            raise APITimeoutError(
                f"timed out {self._so_far()}: no data within the read timeout",
                request_id=self.request_id,
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise APIConnectionError(
                f"{_broke(exc)} {self._so_far()}, before the stream was complete",
                request_id=self.request_id,
            ) from None
        if raw:
            self._take(self._decoder.feed(raw))
            return
        last = self._decoder.flush()  # an event the body did not terminate, if any
        try:
            self._take(last)
        except APIResponseValidationError:
            if not last or self._saw_done:
                raise
            self._chunks -= 1  # it was not a chunk: the body stopped inside it
            raise APIConnectionError(
                f"the stream ended {self._so_far()} in the middle of an event: "
                "the answer is incomplete",
                request_id=self.request_id,
            ) from None
        self._end_of_body()

    def _take(self, events: list[ServerSentEvent]) -> None:
        """Process the events of one read: this loop runs once per chunk.

        The usual chunk (a ``message`` event whose JSON has choices and no error) is handled
        inline with local names; anything else, and the first chunk of an attempt, goes through
        ``_handle``. Events are appended to one buffer in order either way.
        """
        if self._on_read is not None:
            self._on_read(events)
        self._chunks += len(events)
        loads = orjson.loads
        feed = self._accumulator.feed
        buffer = self._event_buffer
        queue = self._queue
        try:
            for event in events:
                data = event.data
                if self._saw_data and event.event == "message" and data[:1] == "{":
                    try:
                        obj = loads(data)
                    except orjson.JSONDecodeError:
                        obj = None  # _handle reports it
                    if type(obj) is dict and obj.get("choices") and "error" not in obj:
                        feed(obj, buffer)
                        if buffer is None:
                            queue.append(obj)
                        continue
                    if self._handle(event.event, data, obj):  # parsed once, handled there
                        break
                    continue
                if self._handle(event.event, data):
                    break
        finally:
            self._flush_events()  # also when an event raises: what came before it is kept

    def _handle(self, kind: str, data: str, obj: Any = None) -> bool:
        """Process one event (``obj``: its JSON, when already parsed); True after ``[DONE]``."""
        if data == "[DONE]":
            self._saw_done = True
            self._end_of_body()
            return True
        if kind != "message" and kind != "error":
            self._chunks -= 1  # not a chunk (a vendor's ping, say)
            return False
        try:
            if obj is None:
                obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            if kind == "error":
                obj = {"error": {"message": excerpt(data)}}
            elif not data.strip():
                self._chunks -= 1
                return False
            else:
                raise APIResponseValidationError(
                    f"malformed JSON in stream event: {excerpt(data)!r}",
                    request_id=self.request_id,
                    body=excerpt(data),
                ) from None
        if type(obj) is not dict:
            raise APIResponseValidationError(
                f"stream event is not a JSON object: {excerpt(data)!r}", request_id=self.request_id
            )
        if not self._saw_data and self._observer_of is not None:
            observer = self._observer_of()  # the first data event of this attempt
            if observer is not None:
                observer.chunk()
        self._saw_data = True
        if kind == "error" or is_error_chunk(obj):
            self._accumulator.feed(obj, self._event_buffer)
            self._flush_events()
            raise stream_error(obj, self.request_id, self._accumulator.completion())
        buffer = self._event_buffer
        if buffer is None:
            self._accumulator.feed(obj, None)
            self._queue.append(obj)
        else:
            self._accumulator.feed(obj, buffer)
            self._flush_events()
        return False

    def _flush_events(self) -> None:
        buffer = self._event_buffer
        if buffer:
            self._events.extend(buffer)
            buffer.clear()

    def _end_of_body(self) -> None:
        if self._finished:
            return
        if not self._saw_done:
            problem = self._incomplete()
            if problem is not None:  # retried like a dropped connection, before any output
                raise APIConnectionError(problem, request_id=self.request_id)
        self._finished = True
        self._complete = True
        replaced = self._decoder.replaced_bytes
        if replaced:
            logger.warning(
                "replaced %d bytes of invalid UTF-8 with U+FFFD in a stream (request id %s)",
                replaced, self.request_id,
            )
        self._end_unreported = True
        end_events = self._accumulator.end()
        if self._event_buffer is not None:
            self._events.extend(end_events)
        self._close_response(abort=False)
        self._notify_end(None)

    def _incomplete(self) -> str | None:
        """Why a body that ended without ``[DONE]`` is not a whole answer (None if it is)."""
        if not self._saw_data:
            return "the server closed the stream without sending any event (empty body)"
        accumulator = self._accumulator
        if not accumulator.started:
            return f"the stream ended {self._so_far()} without any choice and without [DONE]"
        missing = accumulator.unfinished()
        if not missing:
            return None  # finished, as some servers end (watsonx): no [DONE] needed
        which = "choice " + ", ".join(map(str, missing))
        return (
            f"the stream ended {self._so_far()} without [DONE] and without a finish_reason "
            f"for {which}: the answer is incomplete"
        )

    def _so_far(self) -> str:
        count = self._chunks
        if count == 0:
            return "before the first chunk"
        return f"after {count} chunk" + ("" if count == 1 else "s")

    def _close_response(self, *, abort: bool) -> None:
        response = self._response
        if response is None or response.closed:
            return
        if abort:
            response.close()
        else:
            response.release()

    def _notify_end(self, error: BaseException | None) -> None:
        if self._on_end is not None:
            callback, self._on_end = self._on_end, None
            callback(self, error)


def _broke(exc: BaseException) -> str:
    """What a transport failure means, in words (aiohttp's own text reads like an HTTP status)."""
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):  # chunked or Content-Length body cut short
        return "the connection closed"
    if isinstance(exc, ConnectionResetError) or isinstance(exc.__cause__, ConnectionResetError):
        return "the connection was reset"
    reason = getattr(exc, "strerror", None)
    return f"the connection broke ({reason})" if reason else "the connection broke"


def _after_output(error: APIError) -> APIError:
    """``error`` as the ``StreamError`` of a stream that had begun, keeping its natural class."""
    if isinstance(error, (StreamError, ClientClosedError)):
        return error  # already one; or our own client was closed: its one documented error
    cls: type[StreamError]
    if isinstance(error, APITimeoutError):
        cls = StreamTimeoutError
    elif isinstance(error, APIConnectionError):
        cls = StreamConnectionError
    elif isinstance(error, APIResponseValidationError):
        cls = StreamValidationError
    elif isinstance(error, APIStatusError):
        cls = StreamStatusError
    else:
        cls = StreamError
    converted = cls(
        error.message, status_code=error.status_code, code=error.code,
        request_id=error.request_id, body=error.body, partial=error.partial, headers=error.headers,
    )
    converted.__dict__.update(vars(error))  # an instance's own `retryable`, say
    converted.__cause__ = error.__cause__
    converted.__suppress_context__ = error.__suppress_context__
    return converted
