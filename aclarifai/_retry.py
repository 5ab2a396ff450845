"""When to retry and how long to wait: status codes, Clarifai codes and the server's headers.

The rules, in order:

1. HTTP 400, 401, 403, 404 and 422 are never retried: the same request would fail the same way;
   neither are the Clarifai codes that say so (``NEVER_RETRY_CODES``: 21353 "model not
   deployed", a bad key...), whatever the HTTP status, nor an error marked
   ``retryable = False`` (a TLS failure, a limiter's refusal).
2. ``x-should-retry: true`` / ``false`` from the server decides, when present.
3. Connection errors and timeouts (``APIConnectionError``) are retried: the caller has received
   nothing yet (a stream that has handed out a chunk is never retried; the stream checks that).
4. The retryable Clarifai codes (``RETRYABLE_CODES``) are retried, whatever the 2xx/5xx status.
   Both code sets come from the one table in ``_codes.py``, shown in ``docs/errors.md``.
5. HTTP 408, 409, 429 and >= 500 are retried.

The wait is the server's ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date) when
given, else exponential backoff with jitter. A server that asks for more than
``MAX_RETRY_AFTER`` seconds gets no retry: the error is raised at once instead of sleeping.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import math
import random
import time
from collections.abc import Mapping

from ._codes import NEVER_RETRY_CODES, RETRYABLE_CODES, code_number
from .errors import APIConnectionError, APIError

RETRYABLE_STATUS = frozenset((408, 409, 429))
NEVER_RETRY_STATUS = frozenset((400, 401, 403, 404, 422))
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0


async def sleep(delay: float) -> None:
    """Wait between two attempts; the one place retries sleep, so tests can replace it."""
    await asyncio.sleep(delay)


def should_retry(error: APIError, headers: Mapping[str, str] | None = None) -> bool:
    """Whether a failed attempt may be repeated (the caller checks the attempts left)."""
    status = error.status_code
    code = code_number(error.code)
    if (
        status in NEVER_RETRY_STATUS
        or code in NEVER_RETRY_CODES
        or getattr(error, "retryable", True) is False
    ):
        return False
    if headers is not None:
        hint = (_header(headers, "x-should-retry") or "").strip().lower()
        if hint in ("true", "false"):
            return hint == "true"
    if isinstance(error, APIConnectionError):
        return error.retryable
    if code in RETRYABLE_CODES:
        return True
    return status is not None and (status in RETRYABLE_STATUS or status >= 500)


def retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, ``Retry-After``), if any."""
    if not headers:
        return None
    ms = _header(headers, "retry-after-ms")
    if ms:
        seconds = _seconds(ms)
        if seconds is not None:
            return seconds / 1000.0
    value = _header(headers, "retry-after")
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; HTTP dates are UTC
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by its lower-case name, from a case-insensitive mapping or a plain dict."""
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if math.isnan(value):
        return None
    return max(0.0, value)


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: about 0.5 s, 1 s, 2 s, ... capped at 8 s."""
    base = min(MAX_DELAY, INITIAL_DELAY * (1 << min(attempt, 16)))
    jitter = float((rng or random).uniform(0.75, 1.0))
    return base * jitter


def retry_delay(attempt: int, headers: Mapping[str, str] | None) -> float | None:
    """The wait before the next attempt, or None when the server asks for more than the cap."""
    asked = retry_after(headers)
    if asked is None:
        return backoff_delay(attempt)
    if asked > MAX_RETRY_AFTER:
        return None
    return asked
