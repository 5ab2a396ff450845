"""The request body, and the handle ``acompletion()`` returns (awaitable, iterable, ``async with``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import aiohttp

from . import _retry
from ._admission import Limits
from ._config import Timeout
from ._fallback import Candidates, CooldownStore
from ._native_chat import NativeCompletionStream, native_complete, prepare_native
from ._native_target import Target
from .errors import APIError
from .hooks import Observer
from .models import wire_model
from .sse import DEFAULT_MAX_LINE_SIZE
from .streaming import CompletionStream
from .types import ChatCompletion

if TYPE_CHECKING:
    from .client import AsyncClarifai

__all__ = ["CompletionRequest", "build_body"]

logger = logging.getLogger("aclarifai")

# What awaiting the request gives: ChatCompletion, or CompletionStream with stream=True.
Result_co = TypeVar("Result_co", covariant=True)


def _as_dict(item: Any, what: str) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    to_dict = getattr(item, "to_dict", None)
    if callable(to_dict):
        value = to_dict()
        if isinstance(value, dict):
            return value
    raise TypeError(f"each {what} must be a dict (or have .to_dict()), got {type(item).__name__}")


def _messages(messages: Any) -> list[dict[str, Any]]:
    if isinstance(messages, (str, bytes, dict)) or not hasattr(messages, "__iter__"):
        raise TypeError(
            "messages must be a list of message dicts, e.g. "
            '[{"role": "user", "content": "Hello"}], '
            f"not {type(messages).__name__}"
        )
    result = [_as_dict(m, "message") for m in messages]
    if not result:
        raise ValueError("messages must not be empty")
    for position, message in enumerate(result):
        if not isinstance(message.get("role"), str):
            raise ValueError(f"messages[{position}] has no 'role'")
    return result


def _tool_schema(tool: Any) -> dict[str, Any]:
    schema = getattr(tool, "schema", None)
    if isinstance(schema, dict):
        return schema
    return _as_dict(tool, "tool")


def build_body(
    model: str, messages: Any, *, tools: Any, tool_choice: Any, params: Mapping[str, Any],
    clarifai_api: bool = True,
) -> dict[str, Any]:
    """The JSON body of a chat completion; ``None`` values are dropped, extras kept at top level.

    ``clarifai_api``: the request goes to Clarifai's API, where the model must be a Clarifai
    reference; elsewhere (a gateway) a name that is not one is sent as given.
    """
    body: dict[str, Any] = {
        "model": wire_model(model, clarifai_api=clarifai_api), "messages": _messages(messages)
    }
    if tools:
        body["tools"] = [_tool_schema(t) for t in tools]
    if tool_choice is not None:
        name = getattr(tool_choice, "name", None)
        if not isinstance(tool_choice, (str, dict)) and isinstance(name, str):
            tool_choice = {"type": "function", "function": {"name": name}}
        body["tool_choice"] = tool_choice
    extra_body = params.get("extra_body")
    for key, value in params.items():
        if value is not None and key != "extra_body":
            body[key] = value
    if extra_body:
        body.update(extra_body)
    body.pop("stream", None)
    return body


class CompletionRequest(Generic[Result_co]):
    """What ``acompletion()`` returns: await it, iterate it, or use it with ``async with``.

    - ``async for chunk in acompletion(...)``: always streams, yields ``ChatCompletionChunk``.
    - ``await acompletion(...)``: a ``ChatCompletion``; with ``stream=True``, the open
      ``CompletionStream`` instead. The type parameter says which: ``acompletion()`` is
      overloaded on ``stream``, so a type checker knows it at every call.
    - ``async with acompletion(..., stream=True) as stream``: the open stream, closed on exit.
    """

    __slots__ = ("_body", "_extra_headers", "_get_client", "_limits", "_max_line_size",
                 "_max_retries", "_stream", "_stream_mode", "_target", "_timeout")

    def __init__(
        self,
        get_client: Callable[[], Awaitable[AsyncClarifai]],
        body: dict[str, Any],
        *,
        stream: bool | None,
        timeout: Timeout | None,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        limits: Limits | None = None,
        target: Target | None = None,
    ) -> None:
        self._target = target  # a deployment or nodepool: the native lane (_native_chat)
        self._get_client = get_client
        self._limits = limits
        self._max_line_size = max_line_size
        self._body = body
        self._stream_mode = stream
        self._timeout = timeout
        self._max_retries = max_retries
        self._extra_headers = extra_headers
        self._stream: CompletionStream | None = None

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body that will be sent (``stream`` is set when sending)."""
        return self._body

    def _open_stream(self) -> CompletionStream:
        body = dict(self._body)
        body["stream"] = True
        options = body.get("stream_options")
        options = dict(options) if isinstance(options, dict) else {}
        options.setdefault("include_usage", True)
        body["stream_options"] = options
        source = _StreamSource(self, body)
        stream_class = CompletionStream if self._target is None else NativeCompletionStream
        return stream_class(
            source.open, source.retry_delay, max_line_size=self._max_line_size,
            observer_of=source.observer_of, sleep=source.sleep,
        )

    def _prepare(self, client: AsyncClarifai, body: dict[str, Any], *, stream: bool) -> Any:
        options: dict[str, Any] = dict(
            stream=stream, timeout=self._timeout or client.timeout,
            max_retries=client.max_retries if self._max_retries is None else self._max_retries,
            extra_headers=self._extra_headers, limits=self._limits,
        )
        if self._target is not None:
            return prepare_native(client, body, self._target, **options)
        return client._prepare("POST", "/chat/completions", body, **options)

    async def _complete(self, client: AsyncClarifai, body: dict[str, Any]) -> ChatCompletion:
        request = self._prepare(client, body, stream=False)
        if self._target is not None:
            return await native_complete(client, request)
        return await client._complete(request)

    def _candidates(self, client: AsyncClarifai) -> Candidates | None:
        """The models to try in order, when this call lists fallbacks."""
        limits = self._limits
        if limits is None or not limits.fallbacks:
            return None
        store: CooldownStore = client.cooldown_store
        seconds = client.cooldown
        if isinstance(limits.cooldown, (int, float)):
            seconds = float(limits.cooldown)
        elif limits.cooldown is not None:
            store = limits.cooldown
            seconds = float(getattr(store, "seconds", seconds))
        return Candidates(self._body["model"], limits.fallbacks, store, seconds)

    def __aiter__(self) -> CompletionStream:
        return self._open_stream()

    def __await__(self) -> Generator[Any, None, Result_co]:
        return self._resolve().__await__()

    async def _resolve(self) -> Result_co:
        if self._stream_mode:
            stream = self._open_stream()
            await stream.__aenter__()
            return cast(Result_co, stream)
        body = dict(self._body)
        body["stream"] = False
        client = await self._get_client()
        candidates = self._candidates(client)
        if candidates is None:
            return cast(Result_co, await self._complete(client, body))
        body["model"] = await candidates.start()
        while True:
            try:
                return cast(Result_co, await self._complete(client, body))
            except APIError as error:
                model = candidates.next(error)
                await candidates.commit()
                if model is None:
                    raise
                logger.info("falling back from %s to %s: %s", body["model"], model, error)
                body = dict(body, model=model)

    async def __aenter__(self) -> CompletionStream:
        self._stream = self._open_stream()
        return await self._stream.__aenter__()

    async def __aexit__(self, *exc_info: object) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()


class _StreamSource:
    """Opens (and re-opens, on retry) the HTTP response of one stream.

    With fallbacks, a model that failed for good before any output is replaced by the next one
    (``retry_delay`` picks it, the next ``open`` switches); attempts are counted per model.
    """

    __slots__ = ("_base", "_body", "_candidates", "_client", "_observer", "_opens", "_owner",
                 "_request", "_switch")

    def __init__(self, owner: CompletionRequest[Any], body: dict[str, Any]) -> None:
        self._owner = owner
        self._body = body
        self._client: AsyncClarifai | None = None
        self._candidates: Candidates | None = None
        self._request: Any = None
        self._observer: Observer | None = None
        self._opens = 0
        self._base = 0  # opens before the current model's first
        self._switch = False

    def _use(self, client: AsyncClarifai, model: str | None) -> None:
        body = self._body if model is None else dict(self._body, model=model)
        self._request = self._owner._prepare(client, body, stream=True)
        candidates = self._candidates
        self._observer = client._watch(
            self._request, None if candidates is None else candidates.commit
        )
        self._base = self._opens
        self._switch = False

    async def open(self) -> aiohttp.ClientResponse:
        client = self._client
        if client is None:
            client = self._client = await self._owner._get_client()
            self._candidates = self._owner._candidates(client)
            self._use(client, None if self._candidates is None else await self._candidates.start())
        elif self._switch and self._candidates is not None:
            logger.info("falling back to %s", self._candidates.current)
            self._use(client, self._candidates.current)
        in_flight = client._in_flight  # closing the client ends each of these waits
        if self._observer is not None:
            await in_flight.wait(self._observer.attempt(self._opens - self._base))
        self._opens += 1
        response = await in_flight.wait(client._send(self._request))
        in_flight.track(response)
        return response

    async def sleep(self, delay: float) -> None:
        """The wait before a retry; closing the client ends it."""
        if self._client is None:
            await _retry.sleep(delay)
        else:
            await self._client._in_flight.wait(_retry.sleep(delay))

    def observer_of(self) -> Observer | None:
        """The hooks' observer of this stream (None without hooks, or before the first open)."""
        return self._observer

    def retry_delay(self, error: APIError, attempt: int) -> float | None:
        if self._client is None:
            return None
        delay = self._client._retry_delay(self._request, error, attempt - self._base)
        if delay is None and self._candidates is not None and self._candidates.next(error):
            self._switch = True
            return 0.0
        return delay
