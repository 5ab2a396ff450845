"""When to retry and how long to wait: status codes, Clarifai codes and the server's headers."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping

from .errors import APIConnectionError, APIError, APIStatusError

RETRYABLE_STATUS = frozenset((408, 409, 429))
NEVER_RETRY_STATUS = frozenset((400, 401, 403, 404, 422))
RETRYABLE_CODES = frozenset((10030, 11005, 11006, 21351, 21354, 21355))
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0


def should_retry(error: APIError, headers: Mapping[str, str] | None = None) -> bool:
    """Whether a failed attempt may be repeated (the caller checks the attempts left)."""
    if headers is not None:
        hint = headers.get("x-should-retry", "").strip().lower()
        if hint in ("true", "false"):
            return hint == "true"
    if isinstance(error, APIConnectionError):
        return True
    status = error.status_code
    if status in NEVER_RETRY_STATUS:
        return False
    if isinstance(error.code, int) and error.code in RETRYABLE_CODES:
        return True
    if isinstance(error, APIStatusError) and status is not None:
        return status in RETRYABLE_STATUS or status >= 500
    return False


def retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, ``Retry-After``), if any."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


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
