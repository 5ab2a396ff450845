"""HTTP plumbing for the client: prepared requests, redirects, bounded body reads, timeouts.

No retries and no session management here (``client.py`` owns those): each function does one
step of one attempt and turns aiohttp's failures into typed errors.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from ._config import Timeout
from ._error_body import error_from_response, excerpt
from ._request_id import request_id_of
from .errors import APIConnectionError, APIError, APIResponseValidationError, APITimeoutError

# aiohttp >= 3.10 tells a connect timeout apart; older versions raise ServerTimeoutError for both.
_ConnectTimeout: type[BaseException] | tuple[()] = getattr(aiohttp, "ConnectionTimeoutError", ())
_REDIRECTS = frozenset((301, 302, 303, 307, 308))
_MAX_REDIRECTS = 5
_MAX_BODY = 64 * 1024 * 1024  # a non-stream answer larger than this is not a chat completion
_MAX_ERROR_BODY = 1024 * 1024


class _Headers(dict[str, str]):
    """Request headers whose repr hides the Authorization value."""

    def __repr__(self) -> str:
        shown = {k: ("<secret>" if k.lower() == "authorization" else v) for k, v in self.items()}
        return repr(shown)


class _Request:
    """One prepared HTTP request: everything needed to send (and resend) it."""

    __slots__ = ("body", "headers", "json", "limiter", "max_retries", "method", "stream",
                 "timeout", "token_budget", "url")

    def __init__(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: _Headers,
        timeout: Timeout,
        max_retries: int,
        stream: bool,
        json: dict[str, Any] | None = None,
    ) -> None:
        self.json = json  # the body before encoding, for hooks (the PAT is never in it)
        self.method = method
        self.url = url
        self.body = body
        self.headers = headers
        self.timeout = timeout
        self.max_retries = max_retries
        self.stream = stream
        self.limiter: Any = None  # a Limiter, waited on before every attempt (_admission.py)
        self.token_budget: Any = None  # a TokenLimiter


def _dumps(body: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(body)
    except TypeError as exc:
        raise TypeError(f"the request cannot be encoded as JSON: {exc}") from None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _redirect_headers(source: str, target: str, headers: _Headers) -> _Headers:
    scheme = urlsplit(target).scheme
    if scheme not in ("http", "https"):
        raise APIConnectionError(f"refusing a redirect to a {scheme or 'relative'!r} URL")
    if urlsplit(source).scheme == "https" and scheme != "https":
        raise APIConnectionError(f"refusing a redirect from https to {_origin(target)}")
    if _origin(source) == _origin(target):
        return headers
    return _Headers({k: v for k, v in headers.items() if k.lower() != "authorization"})


async def _read_body(response: aiohttp.ClientResponse, timeout: Timeout) -> bytes:
    """The whole body; a failure keeps an excerpt of what arrived. The connection is freed."""
    request_id = request_id_of(response.headers)
    pieces: list[bytes] = []
    size = 0
    try:
        while piece := await response.content.readany():
            pieces.append(piece)
            size += len(piece)
            if size > _MAX_BODY:
                response.close()
                raise APIResponseValidationError(
                    f"the response is larger than {_MAX_BODY} bytes: "
                    f"{excerpt(b''.join(pieces[:2]), 80)}",
                    status_code=response.status, request_id=request_id,
                )
    except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
        response.close()
        received = b"".join(pieces)
        error_class: type[APIConnectionError] = APIConnectionError
        what = f"the connection broke while reading the response: {type(exc).__name__}: {exc}"
        if isinstance(exc, asyncio.TimeoutError):  # checked first: some timeouts are ClientErrors
            error_class = APITimeoutError
            what = f"{_timeout_message(exc, timeout)} while reading the response"
        raise error_class(
            f"{what} (received {len(received)} bytes: {excerpt(received, 80) or 'nothing'})",
            status_code=response.status, request_id=request_id, body=excerpt(received),
        ) from None
    except BaseException:
        response.close()
        raise
    response.release()
    return b"".join(pieces)


def _timeout_message(exc: BaseException, timeout: Timeout, url: str | None = None) -> str:
    where = f" {_origin(url)}" if url else ""
    if isinstance(exc, _ConnectTimeout):
        return f"timed out connecting to{where or ' the server'} (connect timeout {timeout.connect}s)"
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return f"timed out waiting for data from{where or ' the server'} (read timeout {timeout.read}s)"
    return f"timed out waiting for{where or ' the server'} (total timeout {timeout.total}s)"


async def read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body, for an error message: a broken read keeps what arrived."""
    pieces: list[bytes] = []
    size = 0
    try:
        while size < limit:
            piece = await response.content.read(limit - size)
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
        pass  # what did arrive still says something
    return b"".join(pieces)


async def _status_error(response: aiohttp.ClientResponse) -> APIError:
    """The typed error of an HTTP error answer; its body is read up to ``_MAX_ERROR_BODY``."""
    try:
        raw = await read_at_most(response, _MAX_ERROR_BODY)
    finally:
        response.release()  # closes the connection instead if the body was not read whole
    return error_from_response(
        response.status, raw, response.headers,
        fallback_reason=response.reason or "",
    )
