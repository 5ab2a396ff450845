"""The Clarifai status codes the client knows: the error class each one gives, and its retry rule.

The one table of them: ``_error_body`` picks classes and notes from it, ``_retry`` its retry
rules, ``docs/errors.md`` shows it, and ``tests/test_codes.py`` checks that page row by row
against this table and against what the client does.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from . import errors

Retry = Literal["yes", "no", "status"]
"""``yes``: retried (unless the HTTP status is one never retried); ``no``: never retried,
whatever the HTTP status; ``status``: as the HTTP status says (a 5xx is retried)."""


@dataclasses.dataclass(frozen=True)
class ClarifaiCode:
    """One Clarifai status code."""

    code: int
    meaning: str
    error: type[errors.APIStatusError]
    """The class when the HTTP status does not decide it (a 2xx or 400 answer, a stream event)."""
    retry: Retry
    note: str | None = None
    """Appended to the message: what to do about it."""


CODES: dict[int, ClarifaiCode] = {
    entry.code: entry
    for entry in (
        ClarifaiCode(10030, "try again", errors.InternalServerError, "yes"),
        ClarifaiCode(11001, "token invalid", errors.AuthenticationError, "no"),
        ClarifaiCode(11005, "throttled", errors.RateLimitError, "yes"),
        ClarifaiCode(11006, "exceeds limits", errors.RateLimitError, "yes"),
        ClarifaiCode(11007, "insufficient scopes", errors.PermissionDeniedError, "no"),
        ClarifaiCode(11008, "key invalid", errors.AuthenticationError, "no"),
        ClarifaiCode(11009, "key not found", errors.AuthenticationError, "no"),
        ClarifaiCode(11102, "invalid request", errors.BadRequestError, "no"),
        ClarifaiCode(21200, "model does not exist", errors.NotFoundError, "no"),
        ClarifaiCode(21201, "model permission denied", errors.PermissionDeniedError, "no"),
        ClarifaiCode(21313, "model prediction failed", errors.InternalServerError, "status"),
        ClarifaiCode(
            21351, "model deploying", errors.InternalServerError, "yes",
            "the model is being deployed; retry later",
        ),
        ClarifaiCode(
            21353, "model not deployed", errors.NotFoundError, "no",
            "the model is not deployed: deploy it (or pick another model); retrying will not help",
        ),
        ClarifaiCode(
            21354, "model busy", errors.InternalServerError, "yes",
            "the model is busy; retry later",
        ),
        ClarifaiCode(
            21355, "model loading", errors.InternalServerError, "yes",
            "the model is loading; retry later",
        ),
    )
}

RETRYABLE_CODES = frozenset(code for code, entry in CODES.items() if entry.retry == "yes")
NEVER_RETRY_CODES = frozenset(code for code, entry in CODES.items() if entry.retry == "no")


def code_number(code: object) -> int | None:
    """A code as an int: ints as they are, numeric strings (``"500"``, as gateways send) parsed."""
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    text = code.strip() if isinstance(code, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return None


def lookup(code: object) -> ClarifaiCode | None:
    """The table's entry for a code (an int, or the same number as a string), if it has one."""
    number = code_number(code)
    return None if number is None else CODES.get(number)
