"""Clarifai's native API: a model's methods, ``predict`` and ``generate``, on any deployment.

``await client.models.get(model)`` reads the model's method signatures;
``await client.predict(model, method="predict", **arguments)`` calls a unary method and
``client.generate(model, method="generate", **arguments)`` streams a generate-style one. Both
take ``deployment=`` / ``deployment_owner=`` / ``nodepool=`` like chat does, encode the
arguments per the signature (refusing unknown or missing ones before sending) and decode the
``return`` part into Python values. See docs/native.md.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from . import _retry
from ._config import Timeout
from ._error_body import excerpt
from ._http import _Request
from ._native_parts import Image, Text, decode_return, encode_arguments, method_input
from ._native_retry import DEFAULT_NATIVE_RETRY, MAX_DEADLINE, NativeRetry, NativeRetryState
from ._native_signatures import MethodSignature, ModelField, parse_signatures
from ._native_status import message_error, outputs_of, response_error
from ._native_stream import JSONStreamParser
from ._native_target import ModelRef, Target, api_root, target_of
from ._request_id import request_id_of
from .errors import APIConnectionError, APIError, APIResponseValidationError, APITimeoutError

if TYPE_CHECKING:
    from .client import AsyncClarifai
    from .hooks import Observer

__all__ = [
    "DEFAULT_NATIVE_RETRY",
    "MAX_DEADLINE",
    "GenerateStream",
    "Image",
    "MethodSignature",
    "ModelField",
    "ModelMethods",
    "NativeRetry",
    "Text",
    "generate",
    "get_model",
    "predict",
]

GET_SIGNATURES = "_GET_SIGNATURES"
_cache: weakref.WeakKeyDictionary[AsyncClarifai, dict[str, ModelMethods]] = (
    weakref.WeakKeyDictionary()
)


class ModelMethods:
    """A model's methods and their signatures, as ``client.models.get()`` returns them.

    >>> methods = await client.models.get(MODEL)
    >>> methods.available_methods()
    ['predict', 'generate']
    >>> print(methods.method_signature("generate"))
    def generate(prompt: str, max_tokens: int = 512) -> Iterator[str]:
    """

    __slots__ = ("methods", "model", "source")

    def __init__(self, model: str, methods: Mapping[str, MethodSignature], source: str) -> None:
        self.model = model
        """The model's URL (with its version, when one was given)."""
        self.methods: dict[str, MethodSignature] = dict(methods)
        self.source = source
        """Where the signatures came from: ``"model_version"`` or ``"_GET_SIGNATURES"``."""

    def available_methods(self) -> list[str]:
        return list(self.methods)

    def method_signature(self, name: str) -> str:
        """The method's signature as Python: ``def predict(prompt: str) -> str:``."""
        return str(self[name])

    def __getitem__(self, name: str) -> MethodSignature:
        try:
            return self.methods[name]
        except KeyError:
            raise KeyError(
                f"{self.model} has no method {name!r}; it has {', '.join(self.methods) or 'none'}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.methods

    def __str__(self) -> str:
        return "\n".join(str(s) for s in self.methods.values())

    def __repr__(self) -> str:
        return f"ModelMethods(model={self.model!r}, methods={list(self.methods)!r})"


# -- requests ---------------------------------------------------------------------------------


class NativeRequest(_Request):
    """A prepared native request: a ``_Request`` plus its retry state (``_native_retry``)."""

    __slots__ = ("native_retry",)

    def __init__(self, base: _Request, retry: NativeRetryState | None) -> None:
        for name in _Request.__slots__:
            setattr(self, name, getattr(base, name))
        self.native_retry = retry


def native_request(
    client: AsyncClarifai,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    *,
    stream: bool,
    timeout: Timeout | None = None,
    max_retries: int | None = None,
    extra_headers: Mapping[str, str] | None = None,
    retry: NativeRetry | None = None,
    observed: dict[str, Any] | None = None,
    **options: Any,
) -> NativeRequest:
    """A request to ``{api root}{path}`` with ``Authorization: Key``; ``observed`` is the body
    hooks see (the chat request, for chat)."""
    retries = client.max_retries if max_retries is None else max_retries
    base = client._prepare(
        method, "", body, stream=stream, timeout=timeout or client.timeout, max_retries=retries,
        extra_headers=extra_headers, **options,
    )
    base.url = api_root(client.base_url) + path
    base.headers["Authorization"] = f"Key {client._api_key.reveal()}"
    base.headers["Accept"] = "application/json"
    if observed is not None:
        base.json = observed
    policy = retry or getattr(client, "native_retry", None) or DEFAULT_NATIVE_RETRY
    request = NativeRequest(base, None)
    request.native_retry = NativeRetryState(
        policy, lambda error, attempt: _ordinary_delay(client, request, error, attempt), retries
    )
    return request


def _ordinary_delay(
    client: AsyncClarifai, request: NativeRequest, error: APIError, attempt: int
) -> float | None:
    state, request.native_retry = request.native_retry, None  # the client's policy, not ours
    try:
        return client._retry_delay(request, error, attempt)
    finally:
        request.native_retry = state


# -- model methods ----------------------------------------------------------------------------


async def get_model(client: AsyncClarifai, model: str, *, refresh: bool = False) -> ModelMethods:
    """The model's methods: ``GET`` of the model (or its version), else ``_GET_SIGNATURES``.

    Cached per client and model; ``refresh=True`` reads them again.
    """
    ref = ModelRef.parse(model)
    cache = _cache.setdefault(client, {})
    if not refresh and ref.url in cache:
        return cache[ref.url]
    request = native_request(client, "GET", ref.path, None, stream=False)
    body, _ = await client._request_json(request)
    version = body.get("model_version") if isinstance(body, dict) else None
    if version is None and isinstance(body, dict) and isinstance(body.get("model"), dict):
        version = body["model"].get("model_version")
    raw = version.get("method_signatures") if isinstance(version, dict) else None
    source = "model_version"
    if not raw:
        raw, source = await _signatures_from_model(client, ref), GET_SIGNATURES
    try:
        methods = ModelMethods(ref.url, parse_signatures(raw or []), source)
    except ValueError as exc:
        raise APIResponseValidationError(f"unreadable method signatures: {exc}") from None
    cache[ref.url] = methods
    return methods


async def _signatures_from_model(client: AsyncClarifai, ref: ModelRef) -> Any:
    """Clarifai's fallback: ask the model itself (``_method_name: _GET_SIGNATURES``)."""
    body = {"inputs": [method_input(GET_SIGNATURES, [{}])]}
    request = native_request(client, "POST", ref.path + "/outputs", body, stream=False)
    answer, headers = await client._request_json(request)
    outputs = outputs_of(answer)
    data = outputs[0].get("data") if outputs else None
    text = data.get("text", {}).get("raw") if isinstance(data, dict) else None
    if not text:
        return []
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise APIResponseValidationError(
            f"the model's signatures are not JSON: {excerpt(text)}",
            request_id=request_id_of(headers),
        ) from None


def _arguments(arguments: Mapping[str, Any] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    merged = dict(arguments or {})
    clash = set(merged) & set(kwargs)
    if clash:
        raise TypeError(f"arguments given twice: {', '.join(sorted(clash))}")
    merged.update(kwargs)
    return merged


async def _call_body(
    client: AsyncClarifai, model: str, method: str, kind: str, target: Target | None,
    arguments: dict[str, Any],
) -> tuple[ModelRef, MethodSignature, dict[str, Any]]:
    ref = ModelRef.parse(model)
    methods = await get_model(client, model)
    if method not in methods:
        raise TypeError(
            f"{ref.url} has no method {method!r}; it has: {', '.join(methods.methods) or 'none'}"
        )
    signature = methods[method]
    if signature.kind != kind:
        use = {"unary": "predict()", "streaming": "generate()"}.get(signature.kind)
        raise TypeError(
            f"{method}() is a {signature.kind} method"
            + (f": call it with {use}" if use else ": it cannot be called over HTTP")
        )
    body: dict[str, Any] = {
        "inputs": [method_input(method, encode_arguments(signature, arguments))]
    }
    if target is not None:
        body["runner_selector"] = target.runner_selector(ref)
    return ref, signature, body


async def predict(
    client: AsyncClarifai,
    model: str,
    method: str = "predict",
    *,
    deployment: str | None = None,
    deployment_owner: str | None = None,
    nodepool: tuple[str, str] | None = None,
    arguments: Mapping[str, Any] | None = None,
    timeout: float | Timeout | None = None,
    max_retries: int | None = None,
    native_retry: NativeRetry | None = None,
    **kwargs: Any,
) -> Any:
    """Call a unary model method and return its decoded result (``client.predict``)."""
    target = target_of(deployment, deployment_owner, nodepool)
    ref, signature, body = await _call_body(
        client, model, method, "unary", target, _arguments(arguments, kwargs))
    request = native_request(
        client, "POST", ref.path + "/outputs", body, stream=False,
        timeout=None if timeout is None else Timeout.coerce(timeout), max_retries=max_retries,
        retry=native_retry,
    )
    answer, headers = await client._request_json(request)
    error = response_error(answer, 200, request_id_of(headers), headers)
    if error is not None:
        raise error
    outputs = outputs_of(answer)
    if not outputs:
        raise APIResponseValidationError(
            f"the answer has no outputs: {excerpt(orjson.dumps(answer))}",
            request_id=request_id_of(headers), body=answer,
        )
    return decode_return(outputs[0], signature.output)


def generate(
    client: AsyncClarifai,
    model: str,
    method: str = "generate",
    *,
    deployment: str | None = None,
    deployment_owner: str | None = None,
    nodepool: tuple[str, str] | None = None,
    arguments: Mapping[str, Any] | None = None,
    timeout: float | Timeout | None = None,
    max_retries: int | None = None,
    native_retry: NativeRetry | None = None,
    **kwargs: Any,
) -> GenerateStream:
    """Call a streaming model method; iterate the result for its decoded values."""
    target = target_of(deployment, deployment_owner, nodepool)
    return GenerateStream(
        client, model, method, target, _arguments(arguments, kwargs),
        timeout=None if timeout is None else Timeout.coerce(timeout), max_retries=max_retries,
        retry=native_retry,
    )


class GenerateStream:
    """The values a streaming method yields: ``async for value in client.generate(...)``.

    Arguments are checked against the signature on the first iteration, before the call is
    sent. A failed attempt is retried (readiness codes until the deadline) only until the first
    value has been handed out. Use ``async with`` (or ``aclose()``) to stop early.
    """

    def __init__(
        self, client: AsyncClarifai, model: str, method: str, target: Target | None,
        arguments: dict[str, Any], *, timeout: Timeout | None, max_retries: int | None,
        retry: NativeRetry | None,
    ) -> None:
        self._client, self._model, self._method = client, model, method
        self._target, self._arguments = target, arguments
        self._timeout, self._max_retries, self._retry = timeout, max_retries, retry
        self._request: NativeRequest | None = None
        self._observer: Observer | None = None
        self._output: ModelField | None = None
        self._response: aiohttp.ClientResponse | None = None
        self._parser = JSONStreamParser()
        self._queue: deque[Any] = deque()
        self._attempt = 0
        self._received = False  # a value of this call was decoded: never retry after that
        self._pending: APIError | None = None  # raised once the values before it are taken
        self._done = False
        self.request_id: str | None = None

    @property
    def framing(self) -> str | None:
        """How the body was framed (``"ndjson"``, ``"json-array"``, ``"sse"``), once known."""
        return self._parser.framing

    def __aiter__(self) -> GenerateStream:
        return self

    async def __anext__(self) -> Any:
        while not self._queue:
            pending, self._pending = self._pending, None
            if pending is not None:
                raise pending
            if self._done:
                raise StopAsyncIteration
            await self._pump()
        return self._queue.popleft()

    async def __aenter__(self) -> GenerateStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection (idempotent)."""
        if not self._done:
            self._done = True
            self._close(abort=True)
            if self._observer is not None:
                self._observer.abandon(None)

    async def _prepare(self) -> NativeRequest:
        client = self._client
        ref, signature, body = await _call_body(
            client, self._model, self._method, "streaming", self._target, self._arguments)
        self._output = signature.output
        request = native_request(
            client, "POST", ref.path + "/outputs/generate", body, stream=True,
            timeout=self._timeout, max_retries=self._max_retries, retry=self._retry,
        )
        self._observer = client._watch(request)
        return request

    async def _pump(self) -> None:
        while True:
            try:
                if self._request is None:
                    self._request = await self._prepare()
                if self._response is None:
                    await self._open(self._request)
                await self._read_once()
                return
            except APIError as error:
                self._close(abort=True)
                delay = None
                if not self._received and self._request is not None:
                    state = self._request.native_retry
                    delay = state.delay(error, self._attempt) if state is not None else None
                if self._observer is not None:
                    await self._observer.error(error, will_retry=delay is not None, delay=delay)
                if delay is None:
                    self._done = True
                    raise
                self._attempt += 1
                self._parser = JSONStreamParser()
                await _retry.sleep(delay)
            except BaseException as exc:
                self._close(abort=True)
                self._done = True
                if self._observer is not None:
                    self._observer.abandon(exc)
                raise

    async def _open(self, request: NativeRequest) -> None:
        if self._observer is not None:
            await self._observer.attempt(self._attempt)
        self._response = await self._client._send(request)
        self.request_id = request_id_of(self._response.headers)

    async def _read_once(self) -> None:
        response = self._response
        assert response is not None
        try:
            raw = await response.content.readany()
        except asyncio.TimeoutError:
            raise APITimeoutError(
                "timed out waiting for the stream (no data within the read timeout)",
                request_id=self.request_id,
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise APIConnectionError(
                f"the connection broke during the stream: {type(exc).__name__}: {exc}",
                request_id=self.request_id,
            ) from None
        messages = self._parser.feed(raw) if raw else self._parser.flush()
        headers = response.headers
        for message in messages:
            error = message_error(message, self.request_id, headers)
            if error is not None:
                if not self._received:
                    raise error
                self._pending, self._done = error, True  # the values before it come first
                self._close(abort=True)
                return
            for output in outputs_of(message):
                self._queue.append(decode_return(output, self._output))
                self._received = True
        if not raw:
            self._done = True
            self._close(abort=False)
            if self._observer is not None:
                await self._observer.response(
                    status=response.status, request_id=self.request_id, usage=None, model=None,
                )

    def _close(self, *, abort: bool) -> None:
        response, self._response = self._response, None
        if response is not None and not response.closed:
            if abort:
                response.close()
            else:
                response.release()

    def __del__(self) -> None:
        response = getattr(self, "_response", None)
        if response is not None and not response.closed:
            response.close()
