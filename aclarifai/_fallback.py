"""Fallbacks between models, and the cooldown that makes every caller skip a failing model.

``acompletion(model=A, fallbacks=[B, C])`` tries A, then B, then C. The next model is tried only
when a model fails, after its own retries, before any output reached the caller, with an error
another model can fix (``can_fall_back``): HTTP 429, any 5xx, 404 (model not found), Clarifai's
throttle codes 11005/11006 and model-unavailable codes 21351/21353/21354/21355. Anything else
(a bad request, a bad PAT, a broken network, our own limiter's refusal) is raised at once: another
model would fail the same way. Once a chunk has reached the caller, nothing is retried.

A model that failed so is put on a cooldown for ``cooldown`` seconds in a ``CooldownStore``:
``Cooldowns`` in memory (per client), or ``aclarifai.redis.RedisCooldowns`` so that every worker
skips it. Models on a cooldown are skipped; when every candidate is on a cooldown they are all
tried anyway, in order (a call that tries nothing would only fail).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from .errors import APIConnectionError, APIError, ClarifaiError, ConfigurationError
from .models import wire_model

__all__ = [
    "DEFAULT_COOLDOWN",
    "FALLBACK_CODES",
    "CooldownStore",
    "Cooldowns",
    "Candidates",
    "can_fall_back",
    "check_cooldown",
    "resolve_fallbacks",
]

logger = logging.getLogger("aclarifai")

FALLBACK_CODES = frozenset((11005, 11006, 21351, 21353, 21354, 21355))
"""Clarifai codes (throttled; model unavailable, loading, failed) another model may not have."""
DEFAULT_COOLDOWN = 30.0
"""Seconds a model that failed is skipped by later calls that list fallbacks."""


def can_fall_back(error: APIError) -> bool:
    """Whether another model could succeed where this one failed with ``error``."""
    if getattr(error, "retryable", True) is False or isinstance(error, APIConnectionError):
        return False  # the network, TLS, or our own limiter: the same for every model
    code = error.code
    if isinstance(code, int) and code in FALLBACK_CODES:
        return True
    status = error.status_code
    return status is not None and (status in (404, 429) or status >= 500)


@runtime_checkable
class CooldownStore(Protocol):
    """Where cooldowns live: ``Cooldowns`` (in memory) or ``aclarifai.redis.RedisCooldowns``."""

    async def cooling(self, models: Sequence[str]) -> set[str]:
        """The models among ``models`` that are on a cooldown now."""
        ...

    async def mark(self, model: str, seconds: float) -> None:
        """Put ``model`` on a cooldown for ``seconds``."""
        ...


class Cooldowns:
    """Cooldowns in this process's memory (each client has one; share one by passing it)."""

    __slots__ = ("_clock", "_until")

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"Cooldowns({len(self._until)} models)"

    async def cooling(self, models: Sequence[str]) -> set[str]:
        now = self._clock()
        for model, until in list(self._until.items()):
            if until <= now:
                del self._until[model]  # bounded by the models ever used
        return {model for model in models if model in self._until}

    async def mark(self, model: str, seconds: float) -> None:
        if seconds > 0:
            until = self._clock() + seconds
            self._until[model] = max(until, self._until.get(model, until))


def check_cooldown(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigurationError(f"cooldown must be a number of seconds >= 0, not {value!r}")
    if math.isinf(value):
        raise ConfigurationError("cooldown must be finite")
    return float(value)


def resolve_fallbacks(
    fallbacks: Iterable[str] | None, *, clarifai_api: bool = True
) -> tuple[str, ...]:
    """The fallback models as sent (a bad reference raises now, before any request).

    On Clarifai's API each must be a Clarifai reference (made canonical); behind a gateway
    (``clarifai_api=False``) other names are kept as given.
    """
    if fallbacks is None:
        return ()
    if isinstance(fallbacks, str):
        raise ConfigurationError("fallbacks must be a list of models, not a single string")
    return tuple(wire_model(model, clarifai_api=clarifai_api) for model in fallbacks)


class Candidates:
    """The models of one call in order: the primary, then the fallbacks; skips cooling ones.

    ``start()`` picks the first model; after a failure, ``next(error)`` says which model to try
    instead (None to give up with ``error``), and ``commit()`` records the cooldown of the model
    that failed. The split lets a synchronous retry policy choose and an async step record.
    """

    __slots__ = ("_failed", "_order", "_position", "_seconds", "_store")

    def __init__(
        self, primary: str, fallbacks: Sequence[str], store: CooldownStore, seconds: float
    ) -> None:
        self._order = [primary, *[m for m in fallbacks if m != primary]]
        self._store = store
        self._seconds = seconds
        self._position = 0
        self._failed: list[str] = []

    @property
    def current(self) -> str:
        return self._order[self._position]

    async def start(self) -> str:
        """Drop the models on a cooldown (unless all are) and return the first to try."""
        if len(self._order) > 1:
            try:
                cooling = await self._store.cooling(self._order)
            except ClarifaiError as problem:
                logger.warning("could not read the model cooldowns: %s", problem)
                cooling = set()
            ready = [model for model in self._order if model not in cooling]
            if ready:
                self._order = ready
        return self._order[0]

    def next(self, error: APIError) -> str | None:
        """The model to try after the current one failed with ``error``, or None."""
        if not can_fall_back(error):
            return None
        self._failed.append(self.current)  # the last one too: when all cool, all are tried
        if self._position + 1 >= len(self._order):
            return None
        self._position += 1
        return self.current

    async def commit(self) -> None:
        """Put the models that failed on a cooldown (a store that fails is logged, not raised)."""
        failed, self._failed = self._failed, []
        if self._seconds > 0:
            for model in failed:
                try:
                    await self._store.mark(model, self._seconds)
                except ClarifaiError as problem:
                    logger.warning("could not put %s on a cooldown: %s", model, problem)
