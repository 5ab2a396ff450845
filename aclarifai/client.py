"""AsyncClarifai: owns the pooled aiohttp session, retries, timeouts and redirects.

One ``aiohttp.ClientSession`` per client, created lazily on the running event loop and closed by
``aclose()`` / ``async with``. Requests and responses go through orjson. The PAT is held in a
``_Secret`` and sent only in the ``Authorization`` header, which is dropped on a redirect to another
host; it never appears in reprs, logs or error messages.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import ssl as ssl_module
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import urljoin

import aiohttp
import orjson

from . import _retry, _telemetry
from . import native as _native
from ._admission import Limits, check_limiter, cooldown_of, watch
from ._closing import InFlight
from ._config import Timeout, _Secret, is_clarifai_api, resolve_api_key, resolve_base_url
from ._error_body import error_in_body, excerpt
from ._fallback import DEFAULT_COOLDOWN, Cooldowns, CooldownStore
from ._http import (
    _MAX_REDIRECTS,
    _REDIRECTS,
    _dumps,
    _Headers,
    _origin,
    _read_body,
    _redirect_headers,
    _Request,
    _status_error,
    _timeout_message,
)
from ._native_retry import DEFAULT_NATIVE_RETRY, NativeRetry
from ._options import CompletionOptions, MessageParam, split_options
from ._ratelimit import Limiter, TokenLimiter
from ._request import CompletionRequest, build_body
from ._request_id import request_id_of
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    NotFoundError,
)
from .hooks import Hooks, Observer
from .sse import DEFAULT_MAX_LINE_SIZE
from .streaming import CompletionStream
from .types import ChatCompletion, ModelInfo, Usage

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AsyncClarifai"]



logger = logging.getLogger("aclarifai")
USER_AGENT = (
    f"aclarifai/{__version__} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)



class AsyncClarifai:
    """A long-lived client for Clarifai's OpenAI-compatible API; share one per application.

    >>> async with AsyncClarifai() as client:          # PAT from CLARIFAI_PAT
    ...     async for chunk in client.acompletion(model=MODEL, messages=msgs):
    ...         print(chunk.choices[0].delta.content or "", end="")
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        *,
        ssl: ssl_module.SSLContext | bool | None = None,
        allow_insecure_http: bool = False,
        max_connections: int = 1000,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        trust_env: bool = False,
        hooks: Hooks | None = None,
        limiter: Limiter | None = None,
        token_budget: TokenLimiter | None = None,
        cooldown: float | CooldownStore = DEFAULT_COOLDOWN,
        telemetry: bool | _telemetry.Telemetry | None = None,
    ) -> None:
        # The first lines: from here on this frame holds the PAT and the URL only wrapped, so a
        # traceback rendered with capture_locals (what error trackers record) never shows them.
        key, base = _Secret.wrap(api_key), _Secret.wrap(base_url)
        del api_key, base_url
        self._api_key = resolve_api_key(key)
        self.base_url = resolve_base_url(base, allow_insecure_http=allow_insecure_http)
        """Where requests go: ``{base_url}/chat/completions`` (see ``docs/migrating.md``)."""
        self._clarifai_api = is_clarifai_api(self.base_url)
        self.hooks = hooks if hooks is not None else Hooks()
        # None follows aclarifai.instrument(); False is off; True or a Telemetry is this client's.
        self._telemetry_setting = telemetry
        self._telemetry = _telemetry.resolve(telemetry)
        self.limiter = check_limiter("limiter", limiter)
        """Waited on before every attempt of every request (``aclarifai.Limiter``), or None."""
        self.token_budget = check_limiter("token_budget", token_budget, settle=True)
        """Tokens reserved before each chat completion and settled after it, or None."""
        self.cooldown_store, self.cooldown = cooldown_of(cooldown, Cooldowns())
        self.timeout = Timeout.coerce(timeout)
        self.max_retries = _check_retries(max_retries)
        self.default_headers = dict(default_headers or {})
        self.max_line_size = _check_positive("max_line_size", max_line_size)
        self._ssl: ssl_module.SSLContext | bool = True if ssl is None else ssl
        self._max_connections = _check_positive("max_connections", max_connections)
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._in_flight = InFlight()
        self.chat = _Chat(self)
        """The OpenAI SDK's spelling: ``client.chat.completions.create(...)`` is
        ``client.acompletion(...)`` (the same method, same arguments and results)."""
        self.models = _Models(self)
        """``await client.models.list()``: the models the endpoint lists, as ``ModelInfo``."""

    def __repr__(self) -> str:
        # getattr: a traceback may show a half-built client (capture_locals in __init__)
        return (
            f"AsyncClarifai(base_url={getattr(self, 'base_url', None)!r}, "
            f"timeout={getattr(self, 'timeout', None)!r}, "
            f"max_retries={getattr(self, 'max_retries', None)})"
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncClarifai:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """End every call in flight, then close the pooled session and its connections.

        Each stream and request still running (reading a body, connecting, waiting for a retry
        or a limiter) raises ``ClientClosedError`` at once, and so does every later call. When
        this returns, every connection is closed. Idempotent.
        """
        self._closed = True
        self._in_flight.close()
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def telemetry(self) -> _telemetry.Telemetry | None:
        """Where this client's calls are traced (see ``aclarifai.otel``); None when off."""
        if self._telemetry_setting is None:
            return _telemetry.installed
        return self._telemetry

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise self._in_flight.error()
        session = self._session
        loop = asyncio.get_running_loop()
        if session is not None and not session.closed:
            if self._loop is not loop:
                raise ConfigurationError(
                    "this AsyncClarifai client is bound to another event loop; create one client "
                    "per event loop (the module-level acompletion() does this for you)"
                )
            return session
        connector = aiohttp.TCPConnector(
            limit=self._max_connections, limit_per_host=0, ssl=self._ssl
        )
        self._session = aiohttp.ClientSession(
            connector=connector, trust_env=self._trust_env, auto_decompress=True
        )
        self._loop = loop
        return self._session

    # -- requests -----------------------------------------------------------------------------

    @overload
    def acompletion(
        self,
        model: str,
        messages: Iterable[MessageParam],
        *,
        stream: Literal[False] | None = None,
        **options: Unpack[CompletionOptions],
    ) -> CompletionRequest[ChatCompletion]: ...

    @overload
    def acompletion(
        self,
        model: str,
        messages: Iterable[MessageParam],
        *,
        stream: Literal[True],
        **options: Unpack[CompletionOptions],
    ) -> CompletionRequest[CompletionStream]: ...

    @overload
    def acompletion(
        self,
        model: str,
        messages: Iterable[MessageParam],
        *,
        stream: bool | None,
        **options: Unpack[CompletionOptions],
    ) -> CompletionRequest[ChatCompletion | CompletionStream]: ...

    def acompletion(
        self,
        model: str,
        messages: Iterable[MessageParam],
        *,
        stream: bool | None = None,
        **options: Unpack[CompletionOptions],
    ) -> CompletionRequest[ChatCompletion | CompletionStream]:
        """Start a chat completion; the result can be awaited, iterated or used in ``async with``.

        Iterating always streams (``ChatCompletionChunk``). Awaiting returns a
        ``ChatCompletion``, or the open ``CompletionStream`` when ``stream=True`` was passed.
        The keywords are those of ``CompletionOptions`` (``temperature=``, ``max_tokens=``,
        ``tools=``, ``timeout=``, ...); anything else goes in ``extra_body={...}``.
        ``limiter``, ``token_budget`` and ``cooldown`` replace the client's for this call;
        ``fallbacks`` are the models tried in order when the model fails with an error another
        model can fix (docs/workers.md).
        """
        call = split_options(options)
        clarifai_api = self._clarifai_api
        body = build_body(
            model, messages, tools=call.tools, tool_choice=call.tool_choice, params=call.params,
            clarifai_api=clarifai_api,
        )
        limits = Limits.of(
            call.limiter, call.token_budget, call.fallbacks, call.cooldown,
            clarifai_api=clarifai_api,
        )
        return CompletionRequest(
            self._itself,
            body,
            stream=stream,
            timeout=Timeout.coerce(call.timeout) if call.timeout is not None else self.timeout,
            max_retries=(
                self.max_retries if call.max_retries is None else _check_retries(call.max_retries)
            ),
            extra_headers=call.extra_headers,
            max_line_size=self.max_line_size,
            limits=limits,
            target=call.target,
        )

    async def _itself(self) -> AsyncClarifai:
        return self

    # -- the native API (docs/native.md) --------------------------------------------------------

    native_retry: NativeRetry = DEFAULT_NATIVE_RETRY
    """How long native calls wait for a deployment that is deploying, busy or loading."""

    predict = _native.predict
    generate = _native.generate

    def _prepare(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        stream: bool,
        timeout: Timeout,
        max_retries: int,
        extra_headers: Mapping[str, str] | None,
        limits: Limits | None = None,
    ) -> _Request:
        headers = _Headers(
            {
                "Authorization": f"Bearer {self._api_key.reveal()}",
                "User-Agent": USER_AGENT,
                "Accept": "text/event-stream" if stream else "application/json",
            }
        )
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = _dumps(body)
        headers.update(self.default_headers)
        if extra_headers:
            headers.update(extra_headers)
        request = _Request(
            method, self.base_url + path, payload, headers, timeout, max_retries, stream, body
        )
        request.limiter = self.limiter
        request.token_budget = self.token_budget
        if limits is not None:
            if limits.limiter is not None:
                request.limiter = limits.limiter
            if limits.token_budget is not None:
                request.token_budget = limits.token_budget
        return request

    def _watch(
        self, request: _Request, after_error: Callable[[], Awaitable[None]] | None = None
    ) -> Observer | None:
        """The observer of one call: hooks, telemetry, limiter and token budget (None: none)."""
        return watch(
            self.hooks, request.limiter, request.token_budget, method=request.method,
            url=request.url, body=request.json, size=len(request.body or b""),
            stream=request.stream, telemetry=self.telemetry, after_error=after_error,
        )

    def _retry_delay(self, request: _Request, error: APIError, attempt: int) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up with ``error``."""
        native = getattr(request, "native_retry", None)  # the native lane's (_native_retry.py)
        if native is not None:
            return native.delay(error, attempt)  # type: ignore[no-any-return]
        if attempt >= request.max_retries or not _retry.should_retry(error, error.headers):
            return None
        delay = _retry.retry_delay(attempt, error.headers)
        if delay is None:
            logger.info(
                "not retrying %s %s: the server asked to wait more than %.0fs (request id %s)",
                request.method, request.url, _retry.MAX_RETRY_AFTER, error.request_id,
            )
            return None
        logger.info(
            "retrying %s %s in %.2fs (retry %d of %d, request id %s): %s",
            request.method, request.url, delay, attempt + 1, request.max_retries,
            error.request_id, error,
        )
        return delay

    async def _send(self, request: _Request) -> aiohttp.ClientResponse:
        """One attempt: send the request (following redirects) and return a 2xx response."""
        session = self._get_session()
        timeout = request.timeout
        client_timeout = aiohttp.ClientTimeout(
            total=None if request.stream else timeout.total,
            connect=timeout.connect,
            sock_connect=timeout.connect,
            sock_read=timeout.read,
        )
        url, headers = request.url, request.headers
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                response = await session.request(
                    request.method, url, data=request.body, headers=headers,
                    timeout=client_timeout, allow_redirects=False,
                )
            except asyncio.TimeoutError as exc:
                raise APITimeoutError(_timeout_message(exc, timeout, url)) from None
            except aiohttp.ClientSSLError as exc:
                # A certificate or TLS setup problem will not fix itself: do not retry it.
                error = APIConnectionError(
                    f"TLS failed with {_origin(url)}: {type(exc).__name__}: {exc}"
                )
                error.retryable = False
                raise error from None
            except (aiohttp.ClientError, OSError) as exc:
                raise APIConnectionError(
                    f"could not reach {_origin(url)}: {type(exc).__name__}: {exc}"
                ) from None
            if response.status in _REDIRECTS and "Location" in response.headers:
                target = urljoin(url, response.headers["Location"])
                response.release()
                headers = _redirect_headers(url, target, headers)
                url = target
                continue
            if response.status >= 300:
                raise await _status_error(response)
            logger.debug(
                "%s %s -> %d (request id %s)", request.method, url, response.status,
                request_id_of(response.headers),
            )
            return response
        raise APIConnectionError(f"too many redirects (more than {_MAX_REDIRECTS})")

    async def _request_json(self, request: _Request) -> tuple[Any, Mapping[str, str]]:
        """Send with retries; the parsed JSON body of the 2xx answer, and its headers."""
        observer = self._watch(request)
        in_flight = self._in_flight
        attempt = 0
        while True:
            if observer is not None:
                try:
                    await _attempt_observed(in_flight, observer, attempt)
                except ClientClosedError:
                    raise  # the trace was ended there
                except APIError as error:  # a limiter refused: the call ends with this error
                    await observer.error(error, will_retry=False)
                    raise
                except BaseException as exc:  # cancelled while a limiter waits
                    observer.abandon(exc)
                    raise
            try:
                body, headers, status = await in_flight.wait(self._attempt_json(request))
            except APIError as error:
                delay = self._retry_delay(request, error, attempt)
                if observer is not None:
                    await observer.error(error, will_retry=delay is not None, delay=delay)
                if delay is None:
                    raise
                attempt += 1
                await _sleep_observed(in_flight, delay, observer)
                continue
            except BaseException as exc:  # cancelled mid-request: the trace ends here
                if observer is not None:
                    observer.abandon(exc)
                raise
            if observer is not None:
                await observer.response(
                    status=status, request_id=request_id_of(headers), usage=_usage_of(body),
                    model=body.get("model") if isinstance(body, dict) else None, answer=body,
                )
            return body, headers

    async def _attempt_json(self, request: _Request) -> tuple[Any, Mapping[str, str], int]:
        response = await self._send(request)
        request_id = request_id_of(response.headers)
        raw = await _read_body(response, request.timeout)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise APIResponseValidationError(
                f"the response is not JSON ({response.headers.get('Content-Type', 'no type')}): "
                f"{excerpt(raw) or '(empty body)'}",
                status_code=response.status,
                request_id=request_id,
                body=excerpt(raw),
                headers=response.headers,
            ) from None
        error = error_in_body(body, response.status, request_id, response.headers)
        if error is not None:
            raise error
        return body, response.headers, response.status

    async def _complete(self, request: _Request) -> ChatCompletion:
        body, headers = await self._request_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
            raise APIResponseValidationError(
                f"the response is not a chat completion: {excerpt(orjson.dumps(body))}",
                status_code=200,
                request_id=request_id_of(headers),
                body=body,
                headers=headers,
            )
        return ChatCompletion(body)


class _Completions:
    def __init__(self, client: AsyncClarifai) -> None:
        self._client = client
        # OpenAI-style alias: the very same (overloaded) method, so its signature cannot drift.
        self.create = client.acompletion


class _Chat:
    def __init__(self, client: AsyncClarifai) -> None:
        self.completions = _Completions(client)


class _Models:
    def __init__(self, client: AsyncClarifai) -> None:
        self._client = client

    async def get(self, model: str, *, refresh: bool = False) -> _native.ModelMethods:
        """The model's methods and their signatures, through the native API (cached)."""
        return await _native.get_model(self._client, model, refresh=refresh)

    async def list(self) -> list[ModelInfo]:
        """The models the endpoint lists (``GET {base}/models``); each ``.id`` is a model URL.

        Raises ``NotFoundError`` when the endpoint does not offer model listing (404 or 405).
        """
        client = self._client
        request = client._prepare(
            "GET", "/models", None, stream=False, timeout=client.timeout,
            max_retries=client.max_retries, extra_headers=None,
        )
        try:
            body, headers = await client._request_json(request)
        except APIStatusError as error:
            if error.status_code not in (404, 405):
                raise
            raise NotFoundError(
                f"model listing is not offered at {request.url} (HTTP {error.status_code}); "
                "browse https://clarifai.com/explore/models and pass a model's URL as model=",
                status_code=error.status_code, code=error.code, request_id=error.request_id,
                body=error.body, headers=error.headers,
            ) from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise APIResponseValidationError(
                f"the model list has no 'data' list: {excerpt(orjson.dumps(body))}",
                status_code=200, request_id=request_id_of(headers), body=body,
                headers=headers,
            )
        return [ModelInfo(item) for item in data if isinstance(item, dict)]


async def _attempt_observed(in_flight: InFlight, observer: Observer, attempt: int) -> None:
    """Announce an attempt (the limiters wait here); closing the client ends the call's trace."""
    try:
        await in_flight.wait(observer.attempt(attempt))
    except ClientClosedError as exc:
        observer.abandon(exc)
        raise


async def _sleep_observed(
    in_flight: InFlight, delay: float, observer: Observer | None
) -> None:
    """Wait before a retry; a cancellation (or a close) during the wait ends the call's trace."""
    try:
        await in_flight.wait(_retry.sleep(delay))
    except BaseException as exc:
        if observer is not None:
            observer.abandon(exc)
        raise


def _usage_of(body: Any) -> Usage | None:
    usage = body.get("usage") if isinstance(body, dict) else None
    return Usage(usage) if isinstance(usage, dict) and usage else None


def _check_retries(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"max_retries must be an int >= 0, not {value!r}")
    return value


def _check_positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be an int >= 1, not {value!r}")
    return value

