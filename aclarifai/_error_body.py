"""Turn an error answer (any of the three body shapes Clarifai uses) into a typed APIError.

1. OpenAI style ``{"error": {"message", "type", "code"}}``
2. Clarifai native ``{"status": {"code", "description", "details", "req_id"}}``
3. Clarifai model side ``{"code", "description", "details"}`` (also inside a stream)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from multidict import CIMultiDict

from . import errors
from ._codes import code_number, lookup
from ._request_id import request_id_of

_BY_STATUS: dict[int, type[errors.APIStatusError]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    422: errors.UnprocessableEntityError,
    429: errors.RateLimitError,
}

_EXCERPT = 300


def excerpt(raw: bytes | str, limit: int = _EXCERPT) -> str:
    """A short printable excerpt of a body, for error messages."""
    # Look at a bounded prefix only: the body may be megabytes (an over-long line, say).
    head = raw[: limit * 4 + 4]
    text = head.decode("utf-8", "replace") if isinstance(head, bytes) else head
    text = " ".join(text.split())
    more = len(text) > limit or len(raw) > len(head)
    return text[:limit] + ("..." if more else "")


def parse_error_object(obj: Any) -> tuple[str | None, int | str | None, str | None]:
    """``(message, code, request_id)`` from any known error shape, or Nones."""
    if not isinstance(obj, Mapping):
        return None, None, None
    inner = obj.get("error")
    if isinstance(inner, Mapping):
        message = inner.get("message") or inner.get("description")
        return _str(message), inner.get("code"), _str(inner.get("req_id"))
    if isinstance(inner, str):
        return inner, obj.get("code"), None
    status = obj.get("status")
    if isinstance(status, Mapping) and ("code" in status or "description" in status):
        return _describe(status), status.get("code"), _str(status.get("req_id"))
    if "description" in obj or ("code" in obj and "details" in obj):
        return _describe(obj), obj.get("code"), _str(obj.get("req_id"))
    message = obj.get("message") or obj.get("detail")
    return _str(message), obj.get("code"), None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _describe(status: Mapping[str, Any]) -> str:
    description = status.get("description") or "error"
    details = status.get("details")
    text = f"{description}: {details}" if details and details != description else str(description)
    entry = lookup(status.get("code"))
    return f"{text} ({entry.note})" if entry is not None and entry.note else text


def error_class(status: int | None, code: int | str | None) -> type[errors.APIStatusError]:
    """HTTP status decides the class; a Clarifai status code refines it."""
    entry = lookup(code)
    by_code = entry.error if entry is not None else None
    if status is None or status < 400:  # an error body on a 2xx answer: the code decides
        return by_code or errors.InternalServerError
    if status >= 500:
        return errors.InternalServerError
    if status == 400 and by_code is not None:
        return by_code
    return _BY_STATUS.get(status, errors.APIStatusError)


def error_from_response(
    status: int, raw: bytes, headers: Mapping[str, str], *, fallback_reason: str = ""
) -> errors.APIStatusError:
    """The typed error for an HTTP error answer."""
    body: Any
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = excerpt(raw)
    message, code, body_request_id = parse_error_object(body)
    if message is None:
        message = (
            f"{fallback_reason or 'error'}: {excerpt(raw)}" if raw else fallback_reason or "error"
        )
    request_id = request_id_of(headers)
    cls = error_class(status, code)
    return cls(
        message,
        status_code=status,
        code=code,
        request_id=request_id or body_request_id,
        body=body,
        headers=CIMultiDict(headers),  # a copy, still case-insensitive (Retry-After...)
    )


def error_in_body(
    body: Any, status: int, request_id: str | None, headers: Mapping[str, str]
) -> errors.APIStatusError | None:
    """The error a 2xx JSON answer carries (Clarifai's status object, or an ``error`` key), if any."""
    if not isinstance(body, dict) or "choices" in body and "error" not in body:
        return None
    status_obj = body.get("status")
    failed_status = isinstance(status_obj, dict) and status_obj.get("code") not in (None, 10000)
    if not (failed_status or body.get("error") or ("code" in body and "description" in body)):
        return None
    message, code, body_request_id = parse_error_object(body)
    cls = error_class(status, code)
    return cls(
        message or "error",
        status_code=status,
        code=code,
        request_id=request_id or body_request_id,
        body=body,
        headers=headers,
    )


def stream_error(obj: Mapping[str, Any], request_id: str | None, partial: Any) -> errors.StreamError:
    """The error for an error object received inside a stream."""
    message, code, body_request_id = parse_error_object(obj)
    inner = obj.get("error")
    status = inner.get("status_code") if isinstance(inner, Mapping) else None
    number = code_number(code)  # LiteLLM's proxy sends the status as a string: "code": "500"
    if status is None and number is not None and 100 <= number < 600:
        status = number
    if isinstance(status, int):  # also an APIStatusError, as the same error before the stream
        return errors.StreamStatusError(
            message or "error in stream", status_code=status, code=code,
            request_id=request_id or body_request_id, body=dict(obj), partial=partial,
        )
    return errors.StreamError(
        message or "error in stream",
        code=code,
        request_id=request_id or body_request_id,
        body=dict(obj),
        partial=partial,
    )


def is_error_chunk(obj: Mapping[str, Any]) -> bool:
    """A stream chunk that reports an error rather than (only) content."""
    if "error" in obj and obj["error"]:
        return True
    return not obj.get("choices") and "description" in obj and "code" in obj
