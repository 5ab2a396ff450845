"""FakeClarifai: a real HTTP server on loopback that speaks Clarifai's OpenAI-compatible API.

Use it to test code that talks to Clarifai without the network:

>>> async with FakeClarifai() as fake:
...     fake.add_text("Hello there")
...     client = AsyncClarifai(api_key=fake.api_key, base_url=fake.base_url)

Each chat-completion request pops the next scripted reply (``add_text``, ``add_tool_calls``,
``add_chunks``, ``add_sse``, ``add_response``/``add_error``, ``add_disconnect``); when the
queue is empty a small deterministic demo model answers (it honours ``max_tokens``, ``n`` and
``stop``). Like Clarifai, the fake refuses a bad PAT (401), a malformed body (400) and a ``model``
it does not serve (400 or 404) before any reply is taken. Every reply can be delayed, slowed,
cut off (``disconnect_after``) or frozen (``stall_after``). The server records requests and
counts concurrency, TCP connections and finished/aborted streams, so tests can check that a
client retries, limits itself and releases its connections. It is a server, not a mock: the
client's real HTTP stack runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import _fake_demo as _demo
from . import _fake_render as _wire
from ._fake_demo import ReplyOptions
from ._fake_native import NativeRoutes
from ._fake_render import make_chunk

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_MODELS",
    "DEFAULT_RETRY_AFTER",
    "FakeClarifai",
    "RecordedRequest",
    "ReplyOptions",
    "make_chunk",
]

CHAT_PATH = "/v2/ext/openai/v1/chat/completions"
MODELS_PATH = "/v2/ext/openai/v1/models"
DEFAULT_API_KEY = "fake-pat-0123456789"
DEFAULT_RETRY_AFTER = "1"
"""Seconds a scripted 429 asks the client to wait when the script names no wait."""
DEFAULT_MODELS = (
    "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b",
    "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b",
    "https://clarifai.com/meta/Llama-3/models/Llama-3_2-3B-Instruct",
)

Body = dict[str, Any] | list[Any] | str | bytes | None


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it; the ``Authorization`` value is masked."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    """The parsed JSON body, or None when the body is empty or not JSON."""
    body: bytes
    received: float = field(default_factory=time.monotonic)
    """When the server had read the request (``time.monotonic()``: one clock for every process
    on the machine, so rates can be checked across client processes)."""


class _TrackingServer(web.Server):
    """aiohttp's low-level server, told about every TCP connection opened and lost.

    ``RequestHandler`` (the per-connection protocol) reports both events to its manager, so
    overriding the manager's two hooks counts connections without touching aiohttp internals.
    """

    def __init__(
        self,
        handler: Callable[[web.BaseRequest], Any],
        on_change: Callable[[int], None],
    ) -> None:
        # handler_cancellation: a client that goes away cancels its handler at once, so
        # stalled or slow streams end (and count as aborted) instead of lingering.
        super().__init__(handler, handler_cancellation=True, access_log=None)
        self._on_change = on_change

    def connection_made(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._on_change(+1)

    def connection_lost(self, handler: web.RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self._on_change(-1)


class FakeClarifai:
    """A scripted Clarifai endpoint on ``127.0.0.1``; ``async with`` starts and stops it."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        models: Sequence[str] = DEFAULT_MODELS,
        accept_any_model: bool = False,
    ) -> None:
        """``models`` are the model URLs the fake serves (and lists); a request naming another
        model gets the error Clarifai sends (404, status code 21200), and a ``model`` that is
        not a model URL gets 400 (11102). ``accept_any_model=True`` serves any ``model``."""
        malformed = [ref for ref in models if _demo.model_key(ref) is None]
        if malformed:
            raise ValueError(
                f"not Clarifai model URLs: {malformed} "
                "(write https://clarifai.com/{user}/{app}/models/{model})"
            )
        self.api_key = api_key
        """The PAT the fake accepts (``Bearer`` or ``Key``); pass it as the client's ``api_key``."""
        self.models = list(models)
        """The model URLs served and listed; a request for another gets Clarifai's 404."""
        self.accept_any_model = accept_any_model
        """Serve any ``model`` (no 404 or 400 for the model reference)."""
        self._host, self._port = host, port
        self._runner: web.ServerRunner | None = None
        self._base_url: str | None = None
        self._closed = False
        self._queue = _demo.ReplyQueue()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()
        self.open_connections = self.active_requests = 0
        self.requests: list[RecordedRequest] = []
        self.native = NativeRoutes(self)
        """The native API's routes: scripting and recorded calls (``aclarifai._fake_native``)."""
        self.reset()

    def reset(self) -> None:
        """Forget queued replies, recorded requests and counters (open connections stay)."""
        self._queue.clear()
        self.native.reset()
        self.requests = []
        self._seq = 0
        self.max_concurrency = self.active_requests
        self.connections_opened = self.connections_closed = 0
        self.streams_completed = self.streams_aborted = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> FakeClarifai:
        """Bind a free port and start serving; returns ``self``."""
        if self._runner is not None or self._closed:
            raise RuntimeError("FakeClarifai can be started once")
        self._changed = asyncio.Event()  # bound to the running loop
        runner = web.ServerRunner(_TrackingServer(self._handle, self._on_connection))
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except BaseException:
            await runner.cleanup()  # e.g. the port is taken: leave nothing half-open
            raise
        self._runner = runner
        self._base_url = f"http://{self._host}:{runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        """Stop serving: end stalled or delayed handlers, close every connection. Idempotent."""
        runner, self._runner, self._closed = self._runner, None, True
        if runner is None:
            return
        # Cancel our own handlers first: stalls never end on their own, and aiohttp would
        # otherwise wait for them for its whole shutdown timeout.
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await runner.cleanup()
        # Transports report connection_lost on a later loop turn; let the counters settle.
        try:
            await self.wait_idle(1.0, connections=True)
        except TimeoutError:
            pass

    async def __aenter__(self) -> FakeClarifai:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (
            f"FakeClarifai(base_url={self._base_url!r}, pending={self.pending}, "
            f"requests={self.request_count})"
        )

    @property
    def base_url(self) -> str:
        """The API root, e.g. ``http://127.0.0.1:8123``; pass it as the client's ``base_url``."""
        if self._base_url is None:
            raise RuntimeError("FakeClarifai is not started: use `async with` or `await start()`")
        return self._base_url

    @property
    def chat_url(self) -> str:
        return self.base_url + CHAT_PATH

    # -- accounting --------------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        return len(self.requests)

    @property
    def pending(self) -> int:
        """Scripted replies left, counting each ``times=k`` reply k times."""
        return len(self._queue)

    @property
    def last_request(self) -> RecordedRequest:
        if not self.requests:
            raise LookupError("no request received yet")
        return self.requests[-1]

    async def wait_idle(self, timeout: float = 5.0, *, connections: bool = False) -> None:
        """Wait until no request is being handled (and, if asked, no connection is open)."""
        await self.wait_until(
            lambda: self.active_requests == 0 and not (connections and self.open_connections),
            timeout,
        )

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``condition()`` holds, rechecked whenever a request, a connection or
        a stream starts or ends; ``TimeoutError`` after ``timeout`` seconds.

        Example: ``await fake.wait_until(lambda: fake.active_requests == 3)``.
        """

        async def wait() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"FakeClarifai: condition still false after {timeout}s "
                f"({self.active_requests} active requests, "
                f"{self.open_connections} open connections)"
            ) from None

    def _on_connection(self, change: int) -> None:
        self.open_connections += change
        if change > 0:
            self.connections_opened += 1
        else:
            self.connections_closed += 1
        self._changed.set()

    def _on_stream_end(self, completed: bool) -> None:
        if completed:
            self.streams_completed += 1
        else:
            self.streams_aborted += 1
        self._changed.set()

    # -- scripting ---------------------------------------------------------------------------

    def add_text(
        self,
        text: str,
        *,
        chunks: int | None = None,
        reasoning: str | None = None,
        reasoning_field: str = "reasoning_content",
        usage: dict[str, Any] | None = None,
        finish_reason: str | None = "stop",
        **options: Unpack[ReplyOptions],
    ) -> None:
        """Answer with ``text`` (reasoning first, if given), streamed or not as requested.

        ``chunks=None`` streams the text word by word, ``chunks=N`` in N even pieces (reasoning
        always goes word by word). ``usage=None`` counts words as tokens.
        """
        plan = _wire.MessagePlan(
            content=text,
            chunks=chunks,
            reasoning=reasoning,
            reasoning_field=reasoning_field,
            finish_reason=finish_reason,
            usage=usage,
        )
        self._queue.push(_plan_reply(plan), options)

    def add_tool_calls(
        self,
        calls: Sequence[dict[str, Any]],
        *,
        fragments: int = 3,
        interleave: bool = False,
        content: str | None = None,
        reasoning: str | None = None,
        extra: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
        finish_reason: str | None = "tool_calls",
        **options: Unpack[ReplyOptions],
    ) -> None:
        """Answer with tool calls: ``[{"name": ..., "arguments": dict | str, "id": ...}]``.

        Each call's arguments JSON streams in ``fragments`` pieces after a first delta with
        id, type, name and ``arguments: ""``; ``interleave=True`` alternates the calls' deltas.
        ``extra`` (or a call's own ``"extra"`` key) adds vendor fields to that first delta.
        """
        plan = _wire.MessagePlan(
            content=content,
            reasoning=reasoning,
            tool_calls=_demo.tool_call_plans(calls, fragments, extra),
            interleave=interleave,
            finish_reason=finish_reason,
            usage=usage,
        )
        self._queue.push(_plan_reply(plan), options)

    def add_chunks(
        self,
        chunks: Sequence[dict[str, Any] | bytes],
        *,
        usage: dict[str, Any] | None = None,
        done: bool = True,
        **options: Unpack[ReplyOptions],
    ) -> None:
        """Stream these chunk dicts verbatim (``bytes`` items are written as raw SSE text).

        Then a usage chunk if ``usage`` is given, then ``data: [DONE]`` unless ``done=False``.
        Always an event stream, even when the request did not ask for one.
        """
        items = list(chunks)

        def make(ctx: _wire.Context, request_id: str) -> _wire.Wire:
            return _wire.render_chunks(items, usage, done, ctx, request_id)

        self._queue.push(make, options)

    def add_sse(
        self,
        data: bytes | str | Path,
        *,
        splits: Sequence[int] | None = None,
        split_seed: int | None = None,
        chunk_size: int | None = None,
        **options: Unpack[ReplyOptions],
    ) -> None:
        """Replay a recorded SSE body byte for byte (``data`` is the bytes or a file path).

        It is written in pieces cut at ``splits`` offsets, at random offsets from
        ``split_seed``, or every ``chunk_size`` bytes; one piece by default.
        ``disconnect_after`` and ``stall_after`` count bytes here.
        """
        body = data if isinstance(data, bytes) else Path(data).read_bytes()
        points = _wire.sse_split_points(
            len(body), None if splits is None else list(splits), split_seed, chunk_size
        )
        self._queue.push(lambda ctx, rid: _wire.render_sse(body, points, rid), options)

    def add_response(
        self,
        status: int = 200,
        body: Body = None,
        *,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
        **options: Unpack[ReplyOptions],
    ) -> None:
        """Answer with an arbitrary response: dict/list as JSON, str as text, bytes verbatim.

        ``add_response()`` is an empty 200; ``add_response(body="<html>",
        content_type="text/html")`` a 200 of the wrong type. Faults count bytes.
        """
        self._queue.push(lambda ctx, rid: _wire.render_raw(status, body, headers, content_type, rid), options)

    def add_error(
        self,
        status: int = 500,
        body: Body = None,
        *,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
        **options: Unpack[ReplyOptions],
    ) -> None:
        """Answer with an error: ``body=None`` gives an OpenAI-style error body for ``status``.

        A 429 carries ``Retry-After: 1`` (``DEFAULT_RETRY_AFTER``) unless ``headers`` names
        its own ``Retry-After`` or ``retry-after-ms``; ``add_response(429, ...)`` sends none.
        E.g. ``add_error(429, headers={"Retry-After": "0"})``, or ``add_error(502,
        "<html>Bad Gateway</html>", content_type="text/html")`` as a proxy would.
        """
        if body is None:
            kind = "rate_limit_error" if status == 429 else "server_error"
            body = {"error": {"message": f"fake error {status}", "type": kind, "code": None}}
        names = {name.lower() for name in headers or ()}
        if status == 429 and not names & {"retry-after", "retry-after-ms"}:
            headers = {"Retry-After": DEFAULT_RETRY_AFTER, **(headers or {})}
        self.add_response(status, body, headers=headers, content_type=content_type, **options)

    def add_disconnect(self, *, delay: float = 0.0, times: int = 1) -> None:
        """Close the connection without answering (the client sees the server disconnect)."""
        self._queue.push(_wire.no_wire, {"delay": delay, "times": times}, drop=True)

    # -- serving -----------------------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.active_requests += 1
        self.max_concurrency = max(self.max_concurrency, self.active_requests)
        self._changed.set()
        try:
            return await self._respond(request)
        finally:
            self.active_requests -= 1
            self._handlers.discard(task)
            self._changed.set()

    async def _respond(self, request: web.BaseRequest) -> web.StreamResponse:
        raw = await request.read()
        self._seq += 1  # after the read, so ids follow the order of `requests`
        parsed, problem = _demo.parse_body(raw)
        headers = {k: _mask(v) if k.lower() == "authorization" else v for k, v in request.headers.items()}
        self.requests.append(RecordedRequest(request.method, request.path, headers, parsed, raw))
        self._changed.set()
        wire, reply = self._answer(request, parsed, problem, f"fake-req-{self._seq:06d}")
        if reply is not None and reply.delay:
            await asyncio.sleep(reply.delay)
        if reply is not None and reply.drop:
            _wire.drop_connection(request)
            return web.Response()  # aiohttp finds the transport closed and lets it go
        return await _wire.send_wire(request, wire, reply, self._on_stream_end)

    def _answer(
        self, request: web.BaseRequest, parsed: Any, problem: str | None, request_id: str
    ) -> tuple[_wire.Wire, _wire.Reply | None]:
        """Route, authenticate and validate like the real endpoint, then pick the reply."""
        path = request.path.rstrip("/")
        if NativeRoutes.handles(path):
            return self.native.answer(request, parsed, request_id, self._seq)
        method = {CHAT_PATH: "POST", MODELS_PATH: "GET"}.get(path)
        if method is None:
            return _demo.openai_error(404, f"No route {path}", request_id), None
        if request.method != method:
            return _demo.openai_error(405, "Method not allowed", request_id), None
        if not self._authorized(request.headers.get("Authorization")):
            return _demo.auth_error(request_id), None
        if path == MODELS_PATH:
            return _demo.model_list(self.models, request_id), None
        if problem is not None:
            return _demo.openai_error(400, problem, request_id), None
        if not self.accept_any_model:
            refused = _demo.model_error(parsed["model"], self.models, request_id)
            if refused is not None:
                return refused, None
        ctx = _wire.Context(self._seq, parsed["model"], parsed.get("stream") is True, parsed)
        reply = self._queue.pop()
        if reply is None:
            plan = _demo.apply_limits(_demo.demo_plan(parsed), parsed)
            return _wire.render_message(plan, ctx, request_id, parsed.get("n") or 1), None
        return reply.make(ctx, request_id), reply

    def _authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() in ("bearer", "key") and token.strip() == self.api_key


def _plan_reply(plan: _wire.MessagePlan) -> _wire.Make:
    return lambda ctx, request_id: _wire.render_message(plan, ctx, request_id)


def _mask(value: str) -> str:
    scheme, _, token = value.partition(" ")
    return f"{scheme} ***" if token else "***"
