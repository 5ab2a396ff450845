"""Retries on the native lane: model readiness by a deadline, everything else by the client.

Clarifai answers 21351 (deploying), 21354 (busy) and 21355 (loading) while a deployment warms up,
which can take minutes. Those are retried with a capped exponential backoff until an overall
deadline (``NativeRetry``): the waits are 1 s, 2 s, 4 s, 8 s, then 10 s each, and the last wait
is cut short so the call gives up *at* the deadline, never after it (Clarifai's SDK checks its
10-minute deadline before an uncapped sleep and can overrun it by minutes). Throttling (11005,
11003) and transport failures follow the client's ordinary policy (``max_retries``, the server's
``Retry-After``, the limiter before each attempt); 21352 (queued for deployment) and 21353 (not
deployed) are never retried.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable

from . import _retry
from ._native_status import NEVER_RETRIED, READINESS_CODES, THROTTLE_CODES
from .errors import APIError, ConfigurationError

__all__ = ["DEFAULT_NATIVE_RETRY", "MAX_DEADLINE", "NativeRetry", "NativeRetryState"]

logger = logging.getLogger("aclarifai")
MAX_DEADLINE = 900.0
"""The longest deadline accepted (15 minutes): longer waits belong in the caller's own loop."""
clock: Callable[[], float] = time.monotonic  # replaced by tests, with _retry.sleep


@dataclasses.dataclass(frozen=True)
class NativeRetry:
    """How long a native call waits for a deployment that is deploying, busy or loading.

    ``deadline``: seconds from the first attempt after which a readiness code is raised
    (default 120 s, at most ``MAX_DEADLINE`` = 900 s; 0 turns these retries off).
    ``initial_delay`` and ``max_delay``: the backoff, doubling from 1 s, each wait at most 10 s.
    """

    deadline: float = 120.0
    initial_delay: float = 1.0
    max_delay: float = 10.0

    def __post_init__(self) -> None:
        for name in ("deadline", "initial_delay", "max_delay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value >= 0
            ):
                raise ConfigurationError(f"NativeRetry.{name} must be a number >= 0, not {value!r}")
        if self.deadline > MAX_DEADLINE:
            raise ConfigurationError(
                f"NativeRetry.deadline is at most {MAX_DEADLINE:.0f}s, not {self.deadline!r}"
            )
        if self.initial_delay <= 0 or self.max_delay < self.initial_delay:
            raise ConfigurationError("NativeRetry needs 0 < initial_delay <= max_delay")

    def delay(self, retry: int) -> float:
        """The wait before readiness retry number ``retry`` (0-based), before the deadline cut."""
        return float(min(self.max_delay, self.initial_delay * 2.0 ** min(retry, 30)))


DEFAULT_NATIVE_RETRY = NativeRetry()


class NativeRetryState:
    """The retry decisions of one native call (one per call: it holds the deadline)."""

    __slots__ = ("_max_retries", "_ordinary", "_readiness", "_started", "policy")

    def __init__(
        self,
        policy: NativeRetry,
        ordinary: Callable[[APIError, int], float | None],
        max_retries: int,
    ) -> None:
        self.policy = policy
        self._ordinary = ordinary  # the client's policy: (error, attempt) -> delay or None
        self._max_retries = max_retries
        self._started = clock()
        self._readiness = 0

    def delay(self, error: APIError, attempt: int) -> float | None:
        """Seconds before the next attempt, or None to raise ``error``."""
        code = error.code
        if code in NEVER_RETRIED:
            return None
        if code in READINESS_CODES:
            return self._readiness_delay(error)
        if code in THROTTLE_CODES:  # 11003 too, which the OpenAI lane's table does not list
            if attempt >= self._max_retries:
                return None
            return _retry.retry_delay(attempt, error.headers)
        return self._ordinary(error, attempt)

    def _readiness_delay(self, error: APIError) -> float | None:
        left = self.policy.deadline - (clock() - self._started)
        if left <= 0:
            return None
        delay = min(self.policy.delay(self._readiness), left)
        self._readiness += 1
        logger.info(
            "the deployment is not ready (code %s), retrying in %.1fs (%.0fs left of %.0fs): %s",
            error.code, delay, left, self.policy.deadline, error,
        )
        return delay
