"""Clarifai's native status codes: when a ``MultiOutputResponse`` failed, and how to say so.

A native answer can fail in four places, all in a body that may come with HTTP 200:
the response's ``status``, an output's ``status``, a stream message ``{"error": Status}``
(grpc-gateway's form), and, for ``openai_transport``, the model's own error object
``{"code": 21313, "description": ...}`` as the returned string. Each becomes the typed error the
OpenAI-compatible lane raises for the same code (``_error_body``). No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._error_body import error_in_body, parse_error_object
from .errors import APIStatusError, InternalServerError

__all__ = [
    "NEVER_RETRIED",
    "READINESS_CODES",
    "SUCCESS",
    "THROTTLE_CODES",
    "message_error",
    "outputs_of",
    "response_error",
]

SUCCESS = 10000
READINESS_CODES = frozenset((21351, 21354, 21355))
"""Deploying, busy, loading: retried with a capped backoff until the native deadline."""
THROTTLE_CODES = frozenset((11005, 11003))
"""Throttled, hourly limit: retried per the client's retry policy and limiter."""
NEVER_RETRIED = frozenset((21352, 21353))
"""Queued for deployment, not deployed: retrying within one call will not help."""


def response_error(
    body: Any, http_status: int, request_id: str | None, headers: Mapping[str, str]
) -> APIStatusError | None:
    """The error a ``MultiOutputResponse`` (or any native answer) carries, if any."""
    error = error_in_body(body, http_status, request_id, headers)
    if error is not None or not isinstance(body, dict):
        return error
    outputs = body.get("outputs")
    for output in outputs if isinstance(outputs, list) else ():
        status = output.get("status") if isinstance(output, dict) else None
        if isinstance(status, dict) and status.get("code") not in (None, SUCCESS):
            return error_in_body({"status": status}, http_status, request_id, headers)
    return None


def message_error(
    message: Any, request_id: str | None, headers: Mapping[str, str]
) -> APIStatusError | None:
    """The error of one stream message: ``{"error": Status}``, or a failed ``result``."""
    if not isinstance(message, dict):
        return InternalServerError(
            "a stream message is not a JSON object", status_code=200, request_id=request_id,
            body=message,
        )
    inner = message.get("error")
    if isinstance(inner, dict) and inner:
        text, code, body_request_id = parse_error_object(message)
        http = inner.get("http_code") or inner.get("http_status_code")
        status = http if isinstance(http, int) and 400 <= http < 600 else 200
        return error_in_body(
            {"status": {"code": code, "description": text or "error in stream",
                        "req_id": body_request_id}},
            status, request_id, headers,
        )
    result = message.get("result", message)
    return response_error(result, 200, request_id, headers)


def outputs_of(body: Any) -> list[dict[str, Any]]:
    """The ``outputs`` of a ``MultiOutputResponse`` (or of a stream message's ``result``)."""
    if isinstance(body, dict) and isinstance(body.get("result"), dict):
        body = body["result"]
    outputs = body.get("outputs") if isinstance(body, dict) else None
    return [o for o in outputs if isinstance(o, dict)] if isinstance(outputs, list) else []
