"""The limiters' side of one call: acquire before each attempt, penalize and settle after it.

``watch()`` gives the client the observer of one call (see ``hooks.Observer``): with no
limiter and no token budget it is the hooks' own observer (or None), so an unlimited client pays
nothing. Otherwise it is a ``Gate`` that wraps it (or nothing, with no hooks and no telemetry)
and, at the points every attempt passes through, keeps the limits:

- before each attempt (retries included): ``token_budget.acquire(estimate)``, then
  ``limiter.acquire(1.0)``, then the ``on_request`` hook; the budget first, so the request
  slot is taken as close as possible to the moment the request really starts;
- on a throttled answer (HTTP 429, or Clarifai code 11005/11006, at any status):
  ``limiter.penalize(seconds)`` with the server's ``Retry-After`` (``DEFAULT_PENALTY`` when it
  gives none), so every holder of the limiter backs off, not only this caller;
- on a failed attempt that handed out no output: the token reservation is given back whole
  (``settle(estimate, 0)``); after output began it is kept, as the tokens were probably spent;
- on success: ``settle(estimate, usage.total_tokens)`` (kept as reserved when the server
  reports no usage). A stream closed early is never settled: it keeps its reservation.

The estimate (``estimate_tokens``): the request's JSON size in bytes divided by
``BYTES_PER_TOKEN`` (4; English text averages about 4 characters a token, and JSON punctuation
makes this an overestimate) for the prompt, plus ``max_completion_tokens`` or ``max_tokens``
when the request sets one, else ``DEFAULT_COMPLETION_TOKENS`` (1024).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from . import _retry
from ._fallback import DEFAULT_COOLDOWN, CooldownStore, check_cooldown, resolve_fallbacks
from ._ratelimit import Limiter, TokenLimiter
from .errors import (
    APIError,
    ClarifaiError,
    ConfigurationError,
    LimiterUnavailableError,
    LimiterWaitError,
)
from .hooks import CallObserver, Hooks, Observer, observe
from .types import Usage

if TYPE_CHECKING:
    from ._telemetry import Telemetry
    from .sse import ServerSentEvent

__all__ = [
    "BYTES_PER_TOKEN",
    "DEFAULT_COMPLETION_TOKENS",
    "DEFAULT_PENALTY",
    "THROTTLE_CODES",
    "Gate",
    "Limits",
    "check_limiter",
    "cooldown_of",
    "estimate_tokens",
    "throttle_seconds",
    "watch",
]

logger = logging.getLogger("aclarifai")
L = TypeVar("L")

THROTTLE_CODES = frozenset((11005, 11006))
"""Clarifai's "too many requests" codes; they may come with any HTTP status."""
DEFAULT_PENALTY = 1.0
"""Seconds every holder of a limiter backs off after a throttle that names no ``Retry-After``:
Clarifai's limit is counted per second."""
BYTES_PER_TOKEN = 4
DEFAULT_COMPLETION_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """What one call was given on top of its client's settings (None: the client's own)."""

    limiter: Limiter | None = None
    token_budget: TokenLimiter | None = None
    fallbacks: tuple[str, ...] = ()
    cooldown: float | CooldownStore | None = None

    @classmethod
    def of(
        cls,
        limiter: Limiter | None,
        token_budget: TokenLimiter | None,
        fallbacks: Sequence[str] | None,
        cooldown: float | CooldownStore | None,
        *,
        clarifai_api: bool = True,
    ) -> Limits | None:
        """One call's own limits, checked now (None when the call sets none: the common case)."""
        if limiter is None and token_budget is None and fallbacks is None and cooldown is None:
            return None
        if isinstance(cooldown, (int, float)):
            check_cooldown(cooldown)
        elif cooldown is not None:
            cooldown_of(cooldown, cooldown)
        return cls(
            check_limiter("limiter", limiter),
            check_limiter("token_budget", token_budget, settle=True),
            resolve_fallbacks(fallbacks, clarifai_api=clarifai_api),
            cooldown,
        )


def estimate_tokens(body: Mapping[str, Any] | None, size: int) -> int:
    """The tokens reserved for a request of JSON ``body`` encoded in ``size`` bytes."""
    completion = None
    if body is not None:
        for key in ("max_completion_tokens", "max_tokens"):
            value = body.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                completion = value
                break
    if completion is None:
        completion = DEFAULT_COMPLETION_TOKENS
    return -(-size // BYTES_PER_TOKEN) + completion


def throttle_seconds(error: APIError) -> float | None:
    """How long every holder should back off after ``error``, or None if it is no throttle."""
    if isinstance(error, (LimiterWaitError, LimiterUnavailableError)):
        return None  # our own limiter said no: the server has not throttled anyone
    code = error.code
    if error.status_code != 429 and not (isinstance(code, int) and code in THROTTLE_CODES):
        return None
    asked = _retry.retry_after(error.headers)
    if asked is None:
        return DEFAULT_PENALTY
    return min(asked, _retry.MAX_RETRY_AFTER)


class Gate(Observer):
    """The observer of one limited call: keeps the limits, and hands every report on to the
    hooks' and the telemetry's ``CallObserver`` when the call has one.

    It stands where the client expects an ``Observer`` (both retry loops call ``attempt``,
    ``chunk``, ``response`` and ``error`` at the right moments), so they keep the limits without
    knowing about them. With no hooks and no telemetry there is nothing to hand on: the Gate then
    builds no ``RequestInfo`` (no copy of the body with its credentials masked), which is most
    of what a limited request used to cost on top of the acquire itself.
    """

    __slots__ = ("_after_error", "_budget", "_estimate", "_inner", "_limiter", "_output",
                 "_reserved")

    def __init__(
        self,
        inner: CallObserver | None,
        limiter: Limiter | None,
        budget: TokenLimiter | None,
        estimate: int,
        *,
        after_error: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._inner = inner
        self._limiter = limiter
        self._budget = budget
        self._estimate = estimate
        self._reserved = 0
        self._output = False
        self._after_error = after_error

    async def attempt(self, attempt: int) -> None:
        self._reserved = 0
        self._output = False
        if self._budget is not None:
            await self._budget.acquire(float(self._estimate))
            self._reserved = self._estimate
        if self._limiter is not None:
            try:
                await self._limiter.acquire(1.0)
            except BaseException:
                await self._give_back()
                raise
        if self._inner is not None:
            await self._inner.attempt(attempt)

    def chunk(self) -> None:
        self._output = True
        if self._inner is not None:
            self._inner.chunk()

    def read_hook(self) -> Callable[[list[ServerSentEvent]], None] | None:
        return None if self._inner is None else self._inner.read_hook()

    def abandon(self, exc: BaseException | None = None) -> None:
        if self._inner is not None:
            self._inner.abandon(exc)

    async def response(
        self, *, status: int, request_id: str | None, usage: Usage | None, model: str | None,
        answer: Any = None,
    ) -> None:
        if self._budget is not None and self._reserved:
            reserved, self._reserved = self._reserved, 0
            used = usage.total_tokens if isinstance(usage, Usage) else None
            if isinstance(used, int) and used >= 0:
                await self._settle(reserved, used)
        if self._inner is not None:
            await self._inner.response(
                status=status, request_id=request_id, usage=usage, model=model, answer=answer
            )

    async def error(
        self, error: APIError, *, will_retry: bool, delay: float | None = None
    ) -> None:
        seconds = throttle_seconds(error)
        if seconds is not None and self._limiter is not None:
            try:
                await self._limiter.penalize(seconds)
            except ClarifaiError as problem:  # the API error is the one the caller must see
                logger.warning("could not share a %.1fs throttle penalty: %s", seconds, problem)
        if not self._output:
            await self._give_back()
        if self._after_error is not None:
            await self._after_error()
        if self._inner is not None:
            await self._inner.error(error, will_retry=will_retry, delay=delay)

    async def _give_back(self) -> None:
        if self._budget is not None and self._reserved:
            reserved, self._reserved = self._reserved, 0
            await self._settle(reserved, 0)

    async def _settle(self, reserved: int, used: int) -> None:
        assert self._budget is not None
        try:
            await self._budget.settle(float(reserved), float(used))
        except ClarifaiError as problem:  # a lost settlement only makes the budget stricter
            logger.warning("could not settle a token reservation: %s", problem)


def watch(
    hooks: Hooks | None,
    limiter: Limiter | None,
    budget: TokenLimiter | None,
    *,
    method: str,
    url: str,
    body: Mapping[str, Any] | None,
    size: int,
    stream: bool,
    telemetry: Telemetry | None = None,
    after_error: Callable[[], Awaitable[None]] | None = None,
) -> Observer | None:
    """The observer of one call: ``observe()``'s when nothing limits it (None when there are
    no hooks and no telemetry either), else a ``Gate`` around it.

    ``after_error`` is awaited after each failed attempt (the fallbacks record cooldowns there).
    """
    if body is None or "messages" not in body:
        budget = None  # only chat completions spend tokens
    inner = observe(hooks, method, url, body, stream=stream, telemetry=telemetry)
    if limiter is None and budget is None and after_error is None:
        return inner
    return Gate(
        inner, limiter, budget, estimate_tokens(body, size) if budget is not None else 0,
        after_error=after_error,
    )


def check_limiter(name: str, value: L, *, settle: bool = False) -> L:
    """``value`` when it has the limiter coroutines (``settle`` too, for a token budget)."""
    if value is None:
        return value
    needed = ("acquire", "penalize", "settle") if settle else ("acquire", "penalize")
    missing = [attr for attr in needed if not callable(getattr(value, attr, None))]
    if missing:
        raise ConfigurationError(
            f"{name} must have async {', '.join(needed)} methods; "
            f"{type(value).__name__} has no {', '.join(missing)}"
        )
    return value


def cooldown_of(value: float | CooldownStore, store: CooldownStore) -> tuple[CooldownStore, float]:
    """``cooldown=`` as (store, seconds): seconds in the given store, or a store's own seconds."""
    if isinstance(value, (int, float)):
        return store, check_cooldown(value)
    seconds = getattr(value, "seconds", DEFAULT_COOLDOWN)
    if not callable(getattr(value, "cooling", None)) or not callable(getattr(value, "mark", None)):
        raise ConfigurationError(
            f"cooldown must be seconds or a cooldown store, not {type(value).__name__}"
        )
    return value, check_cooldown(seconds)
