"""Every error aclarifai raises, under one root.

```
ClarifaiError
├── ConfigurationError            bad or missing settings, raised before any request
│   ├── MissingAPIKeyError        no PAT (also an AuthenticationError)
│   └── InvalidModelError         not a Clarifai model reference (also a ValueError)
├── ToolError                     tools and agents
│   ├── ToolArgumentsError        arguments that fail the tool's JSON schema
│   ├── ToolServerError           a tool server (MCP) failed; also an APIConnectionError
│   └── MaxTurnsExceeded          an Agent ran out of turns
└── APIError                      anything the API or the network did
    ├── APIConnectionError        could not talk to the server (DNS, refused, reset, ...)
    │   ├── APITimeoutError       connect, read or total timeout
    │   ├── ClientClosedError     the client was closed (``aclose()``) while or before the call ran
    │   └── LimiterUnavailableError  a shared limiter's store (Redis) cannot be reached
    ├── APIResponseValidationError the server answered something the client cannot read
    ├── StreamError               a stream failed after its first chunk; ``.partial`` holds it
    │   ├── StreamConnectionError     closed, broken or cut short (also an APIConnectionError)
    │   │   └── StreamTimeoutError    no data within the read timeout (also an APITimeoutError)
    │   ├── StreamStatusError         an error event with a status (also an APIStatusError)
    │   └── StreamValidationError     unreadable data (also an APIResponseValidationError)
    └── APIStatusError            an HTTP error status
        ├── BadRequestError           400
        ├── AuthenticationError       401
        ├── PermissionDeniedError     403
        ├── NotFoundError             404
        ├── ConflictError             409
        ├── UnprocessableEntityError  422
        ├── RateLimitError            429
        │   └── LimiterWaitError      a limiter's wait would exceed its max_wait (no request sent)
        └── InternalServerError       >= 500
```

Every ``APIError`` carries ``status_code``, ``code`` (the Clarifai status code when there is
one), ``message``, ``request_id``, ``body`` (the parsed error body, or an excerpt of the raw
text), ``headers`` (the response headers, when the server answered) and ``partial`` (for a
stream, the completion assembled before the error). The PAT never appears in any of them.

Whatever ends a stream after its first chunk arrived (the connection closing or breaking, a read
timeout, a body that stops without ``[DONE]`` or a ``finish_reason``, an error event, a Clarifai
status chunk, data that cannot be read) is a ``StreamError`` carrying ``.partial``, and also the
class it would have had before the stream began (``APIConnectionError``, ``APITimeoutError``,
``APIStatusError``, ``APIResponseValidationError``), so either handler catches it.
Which errors are retried, and how timeouts and cancellation behave: ``docs/errors.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .types import ChatCompletion

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClarifaiError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "InternalServerError",
    "InvalidModelError",
    "LimiterUnavailableError",
    "LimiterWaitError",
    "MaxTurnsExceeded",
    "MissingAPIKeyError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamConnectionError",
    "StreamError",
    "StreamStatusError",
    "StreamTimeoutError",
    "StreamValidationError",
    "ToolArgumentsError",
    "ToolError",
    "ToolServerError",
    "UnprocessableEntityError",
]


class ClarifaiError(Exception):
    """Root of every exception raised by aclarifai."""


class ConfigurationError(ClarifaiError):
    """The client is misconfigured (no PAT, a bad base URL, ...); raised before any request."""


class InvalidModelError(ConfigurationError, ValueError):
    """The model is not a Clarifai reference, and the request goes to Clarifai's API."""


class ToolError(ClarifaiError):
    """Root of the errors raised by tools and agents."""


class ToolArgumentsError(ToolError):
    """Tool arguments failed validation; ``errors`` lists ``(json_path, message)`` pairs."""

    def __init__(self, tool_name: str, errors: list[tuple[str, str]]) -> None:
        self.tool_name = tool_name
        self.errors = list(errors)
        lines = "; ".join(f"{path}: {msg}" for path, msg in self.errors)
        super().__init__(f"invalid arguments for tool {tool_name!r}: {lines}")


class MaxTurnsExceeded(ToolError):
    """An Agent used all its turns without a final answer; ``result`` holds the partial run."""

    def __init__(self, max_turns: int, result: Any = None) -> None:
        self.max_turns = max_turns
        self.result = result
        super().__init__(f"the agent did not finish within max_turns={max_turns}")


class APIError(ClarifaiError):
    """Something went wrong talking to the API."""

    status_code: int | None
    code: int | str | None
    message: str
    request_id: str | None
    body: object
    """The parsed JSON error body, or an excerpt of a body that was not JSON (None without one)."""
    partial: ChatCompletion | None
    """What was assembled before the error, when a stream had begun."""
    headers: Mapping[str, str] | None
    """The response headers, when the server answered."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: int | str | None = None,
        request_id: str | None = None,
        body: object = None,
        partial: ChatCompletion | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.body = body
        self.partial = partial
        self.headers = headers
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        head = ", ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class APIConnectionError(APIError):
    """The request could not reach the server, or the connection broke."""

    retryable: bool = True
    """False for failures that a retry cannot fix (a TLS certificate error)."""


class ToolServerError(ToolError, APIConnectionError):
    """A server that runs tools (an MCP server) failed to start, stopped answering or died.

    Unlike a tool that raises, this is not the model's to fix: it ends an agent run.
    """


class APITimeoutError(APIConnectionError):
    """A connect, read or total timeout expired."""


class ClientClosedError(APIConnectionError):
    """The client was closed: every call in flight, and every call after ``aclose()``, ends so."""

    retryable = False


class LimiterUnavailableError(APIConnectionError):
    """A shared limiter could not reach its store (Redis) and its ``on_unavailable`` says raise."""

    retryable = False


class APIResponseValidationError(APIError):
    """The server's answer could not be read (bad JSON, wrong content type, empty body...)."""




class APIStatusError(APIError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, *, status_code: int, **kwargs: Any) -> None:
        super().__init__(message, status_code=status_code, **kwargs)
        self.status_code: int = status_code


class StreamError(APIError):
    """A stream failed after its first chunk arrived; ``partial`` is what was assembled before.

    Raised as such for an error event that carries no HTTP status; the subclasses below are also
    the error the same failure raises before any output, so ``except APIConnectionError`` (say)
    catches the failure at any point of the stream.
    """


class StreamConnectionError(StreamError, APIConnectionError):
    """The connection closed or broke mid-stream, or the body ended before the answer did."""


class StreamTimeoutError(StreamConnectionError, APITimeoutError):
    """No data arrived within the read timeout, after the stream had begun."""


class StreamStatusError(StreamError, APIStatusError):
    """The server reported an error with an HTTP status (or a status-like code) in the stream."""


class StreamValidationError(StreamError, APIResponseValidationError):
    """Data that arrived mid-stream could not be read (malformed JSON, an over-long line)."""


class BadRequestError(APIStatusError):
    """HTTP 400: the request is malformed or the parameters are invalid."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the PAT is missing, invalid or not found."""


class MissingAPIKeyError(ConfigurationError, AuthenticationError):
    """No PAT was given or found in the environment; raised before any request is sent."""

    def __init__(self, message: str) -> None:
        APIError.__init__(self, message)


class PermissionDeniedError(APIStatusError):
    """HTTP 403: the PAT lacks a scope or the model is not shared with you."""


class NotFoundError(APIStatusError):
    """HTTP 404: the model (or endpoint) does not exist."""


class ConflictError(APIStatusError):
    """HTTP 409: a conflicting request; retried by default."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422: the request was well-formed but could not be processed."""


class RateLimitError(APIStatusError):
    """HTTP 429: the account is throttled; retried with backoff by default."""


class LimiterWaitError(RateLimitError):
    """A limiter's next slot is further away than its ``max_wait``: nothing was taken or sent."""

    retryable = False


class InternalServerError(APIStatusError):
    """HTTP 5xx: the server or the model failed."""
