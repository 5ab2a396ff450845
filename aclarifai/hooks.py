"""Hooks: callables the client tells about each request, response and error, for logging,
metrics and cost tracking.

``Hooks`` holds the three callables (sync or async); ``RequestInfo``, ``ResponseInfo`` and
``ErrorInfo`` are what they receive. ``emit()`` calls one and swallows what it raises: a broken
metrics hook must never break the call it observes. ``Observer`` is what the client tells about
one call (each attempt, the first chunk, the answer or the error); ``observe()`` gives the client
a ``CallObserver``, the one that times the call across its attempts and fires the hooks (the
limiters' ``_admission.Gate`` is another, which may wrap it); ``observe()`` returns None
when no hook is set and telemetry is off, so an unobserved client pays one attribute check per
request. With telemetry on (``aclarifai.otel``), the observer also feeds the call's trace
(``_telemetry.CallTrace``): every attempt, each stream read, each retry with its delay, the end.

No info object holds the PAT: it travels only in the ``Authorization`` header, which no info
carries, and body keys that usually hold credentials (``api_key``, ``authorization``,
``token``...; e.g. in ``mcp_servers``) are masked.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from .errors import APIError
from .types import Usage

if TYPE_CHECKING:
    from ._telemetry import CallTrace, Telemetry
    from .sse import ServerSentEvent

__all__ = [
    "CallObserver",
    "Observer",
    "ErrorInfo",
    "Hooks",
    "RequestInfo",
    "ResponseInfo",
    "UsageTracker",
    "emit",
    "observe",
    "redact",
]

logger = logging.getLogger("aclarifai")

REDACTED = "<redacted>"
# Compared after lower-casing and turning "-" into "_". Exact names, not substrings: a substring
# test on "token" would also hide max_tokens.
_SECRET_KEYS = frozenset(
    (
        "access_token", "api_key", "apikey", "authorization", "bearer_token", "client_secret",
        "id_token", "password", "pat", "proxy_authorization", "refresh_token", "secret",
        "session_token", "token", "x_api_key",
    )
)


@dataclass(frozen=True, kw_only=True)
class RequestInfo:
    """One attempt of one API call, as sent (never with the ``Authorization`` header)."""

    method: str
    url: str
    """The full URL (without any user:password part)."""
    model: str | None
    """The canonical model URL sent in the body; None for calls without a model."""
    stream: bool
    attempt: int
    """0 for the first try, 1 for the first retry, ..."""
    body: dict[str, Any] | None
    """A copy of the JSON body with credential-like keys masked; changing it changes nothing."""


@dataclass(frozen=True, kw_only=True)
class ResponseInfo:
    """A call that succeeded: reported once the whole body (or stream) has been received."""

    status: int
    request_id: str | None
    latency: float
    """Seconds from sending this attempt to the end of the response (or of the stream)."""
    time_to_first_chunk: float | None
    """Streams only: seconds from sending this attempt to the first event with data."""
    usage: Usage | None
    model: str | None
    """The model as the server named it in its answer, else the requested one."""
    request: RequestInfo


@dataclass(frozen=True, kw_only=True)
class ErrorInfo:
    """An attempt that failed; ``will_retry`` says whether the client tries again."""

    error: APIError
    latency: float
    will_retry: bool
    request: RequestInfo
    delay: float | None = None
    """Seconds the client waits before the next attempt; None when it does not retry."""


RequestHook = Callable[[RequestInfo], object]
ResponseHook = Callable[[ResponseInfo], object]
ErrorHook = Callable[[ErrorInfo], object]


@dataclass
class Hooks:
    """The client's hooks; each may be a plain function or an ``async def``.

    >>> client = AsyncClarifai(hooks=Hooks(on_response=print))
    >>> client.hooks.on_error = alert       # change them at any time

    Hooks run inline, in the task that makes the call: keep them quick (hand slow work to a queue).
    One that raises is logged on the ``aclarifai`` logger and ignored.
    """

    on_request: RequestHook | None = None
    on_response: ResponseHook | None = None
    on_error: ErrorHook | None = None

    @property
    def enabled(self) -> bool:
        """Whether any hook is set."""
        return (
            self.on_request is not None or self.on_response is not None or self.on_error is not None
        )


async def emit(hook: Callable[..., object] | None, *args: object) -> None:
    """Call ``hook(*args)`` (awaiting it if it is async); log and swallow what it raises.

    Only ``Exception`` is swallowed: cancellation and ``KeyboardInterrupt`` still propagate.
    """
    if hook is None:
        return
    try:
        result = hook(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("aclarifai hook %s raised; ignored", _name(hook))


def _name(hook: Callable[..., object]) -> str:
    return getattr(hook, "__qualname__", None) or type(hook).__qualname__


def redact(value: Any) -> Any:
    """A copy of a JSON value with credential-like keys masked (strings shared, not copied)."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _is_secret_key(key) and item is not None else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in _SECRET_KEYS


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class Observer:
    """What the client tells about one API call; this base class listens to nothing.

    The client calls ``attempt(n)`` before sending try ``n`` (an error it raises ends the call
    as that attempt's error), ``chunk()`` for the first streamed data event, then
    ``response(...)`` or ``error(...)`` for that try; ``abandon()`` when the call ends without
    either (closed early, cancelled). ``read_hook()`` is what a stream calls with the events of
    each network read, if anything.
    """

    __slots__ = ()

    async def attempt(self, attempt: int) -> None:
        """Try number ``attempt`` (0 first) is about to be sent."""

    def chunk(self) -> None:
        """A streamed event with data arrived."""

    def read_hook(self) -> Callable[[list[ServerSentEvent]], None] | None:
        """What a stream calls with the events of each network read (None: nothing)."""
        return None

    def abandon(self, exc: BaseException | None = None) -> None:
        """The call ended with neither answer nor error: closed early (None) or by ``exc``."""

    async def response(
        self, *, status: int, request_id: str | None, usage: Usage | None, model: str | None,
        answer: Any = None,
    ) -> None:
        """The attempt succeeded and its whole answer has been received."""

    async def error(
        self, error: APIError, *, will_retry: bool, delay: float | None = None
    ) -> None:
        """The attempt failed (``delay``: the wait before the retry, when ``will_retry``)."""


class CallObserver(Observer):
    """Times one API call across its attempts and fires the hooks; made by ``observe()``.

    ``trace`` is the call's telemetry, if any: it hears every attempt and the end, and gets
    ``chunks()`` for every network read of a stream (see ``read_hook``).
    """

    __slots__ = ("_base", "_clock", "_first_chunk", "_hooks", "_info", "_started", "trace")

    def __init__(
        self,
        hooks: Hooks,
        method: str,
        url: str,
        body: Mapping[str, Any] | None,
        *,
        stream: bool,
        clock: Callable[[], float] = time.perf_counter,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._hooks = hooks
        self._clock = clock
        model = body.get("model") if body is not None else None
        self._base = RequestInfo(
            method=method,
            url=_safe_url(url),
            model=model if isinstance(model, str) else None,
            stream=stream,
            attempt=0,
            body=None if body is None else redact(body),
        )
        self._info = self._base
        self._started = clock()
        self._first_chunk: float | None = None
        self.trace: CallTrace | None = None if telemetry is None else telemetry.call(self._base)

    @property
    def request(self) -> RequestInfo:
        """The current attempt."""
        return self._info

    async def attempt(self, attempt: int) -> None:
        """Try number ``attempt`` (0 first) is about to be sent: fire ``on_request``."""
        self._info = dataclasses.replace(self._base, attempt=attempt)
        self._first_chunk = None
        self._started = self._clock()
        if self.trace is not None:
            self.trace.attempt(self._info)
        await emit(self._hooks.on_request, self._info)

    def chunk(self) -> None:
        """A streamed event with data arrived (only the first one of an attempt counts)."""
        if self._first_chunk is None:
            self._first_chunk = self._clock()

    def read_hook(self) -> Callable[[list[ServerSentEvent]], None] | None:
        """What a stream calls with the events of each network read: None unless traced."""
        return None if self.trace is None else self.trace.chunks

    def abandon(self, exc: BaseException | None = None) -> None:
        """The call ended with neither answer nor error: closed early (None) or by ``exc``."""
        if self.trace is not None:
            self.trace.abandon(exc)

    async def response(
        self, *, status: int, request_id: str | None, usage: Usage | None, model: str | None,
        answer: Any = None,
    ) -> None:
        """The attempt succeeded and its whole answer has been received: fire ``on_response``.

        ``answer`` (the JSON body, or the stream's accumulator) is for the trace only.
        """
        hook = self._hooks.on_response
        if hook is None and self.trace is None:
            return
        ended = self._clock()
        first = self._first_chunk
        info = ResponseInfo(
            status=status,
            request_id=request_id,
            latency=ended - self._started,
            time_to_first_chunk=None if first is None else first - self._started,
            usage=usage,
            model=model or self._info.model,
            request=self._info,
        )
        if self.trace is not None:
            self.trace.response(info, answer)
        await emit(hook, info)

    async def error(
        self, error: APIError, *, will_retry: bool, delay: float | None = None
    ) -> None:
        """The attempt failed: fire ``on_error`` (``delay``: the wait before the retry)."""
        hook = self._hooks.on_error
        if hook is None and self.trace is None:
            return
        info = ErrorInfo(
            error=error,
            latency=self._clock() - self._started,
            will_retry=will_retry,
            request=self._info,
            delay=delay if will_retry else None,
        )
        if self.trace is not None:
            self.trace.error(info)
        await emit(hook, info)


def observe(
    hooks: Hooks | None,
    method: str,
    url: str,
    body: Mapping[str, Any] | None,
    *,
    stream: bool,
    clock: Callable[[], float] = time.perf_counter,
    telemetry: Telemetry | None = None,
) -> CallObserver | None:
    """A ``CallObserver`` for one call, or None when no hook is set and telemetry is off (the
    common, free case)."""
    if telemetry is None:
        if hooks is None or not hooks.enabled:
            return None
    elif hooks is None:
        hooks = Hooks()
    return CallObserver(hooks, method, url, body, stream=stream, clock=clock, telemetry=telemetry)


class UsageTracker:
    """Sums token usage per model; use it as (or call it from) an ``on_response`` hook.

    >>> tracker = UsageTracker()
    >>> client = AsyncClarifai(hooks=Hooks(on_response=tracker))
    >>> ...
    >>> tracker.total.total_tokens, tracker.cost({MODEL: (0.09, 0.36)})

    Models are keyed by the canonical URL that was requested, so they match the names you use.
    """

    def __init__(self) -> None:
        self.by_model: dict[str, Usage] = {}
        self.responses = 0
        """Responses seen, with or without usage."""

    def __call__(self, info: ResponseInfo) -> None:
        self.responses += 1
        if info.usage is None:
            return
        key = info.request.model or info.model or "unknown"
        self.by_model[key] = info.usage + self.by_model.get(key)

    @property
    def total(self) -> Usage:
        """Usage summed over every model."""
        return _sum(self.by_model.values())

    def cost(self, prices: Mapping[str, tuple[float, float]]) -> float:
        """Cost from your prices per million tokens: ``{model: (input, output)}``.

        aclarifai ships no price table (prices differ per model and change; see each model's
        page on clarifai.com). A model used but missing from ``prices`` is a ``KeyError``.
        """
        missing = sorted(set(self.by_model) - set(prices))
        if missing:
            raise KeyError(f"no price for {', '.join(missing)}")
        total = 0.0
        for model, usage in self.by_model.items():
            per_input, per_output = prices[model]
            total += usage.prompt_tokens * per_input + usage.completion_tokens * per_output
        return total / 1_000_000


def _sum(usages: Iterable[Usage]) -> Usage:
    total = Usage({})  # empty, not zeros: a usage without total_tokens then still sums right
    for usage in usages:
        total = total + usage
    return total
