"""The keyword options of a chat completion, defined once for every way to start one.

``aclarifai.acompletion()``, ``AsyncClarifai.acompletion()`` and
``client.chat.completions.create()`` all take ``**options: Unpack[CompletionOptions]``, so their
keyword sets cannot drift apart, and type checkers and IDEs show each keyword by name. Keywords
that are not listed here still reach the JSON body at run time, but a type checker flags them:
pass those in ``extra_body={...}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, TypedDict

from ._config import Timeout
from ._fallback import CooldownStore
from ._native_retry import NativeRetry
from ._native_target import Target, target_of
from ._ratelimit import Limiter, TokenLimiter
from .errors import ConfigurationError

__all__ = [
    "CallOptions",
    "CompletionOptions",
    "MessageParam",
    "SupportsSchema",
    "SupportsToDict",
    "ToolChoiceParam",
    "ToolParam",
    "split_options",
]


class SupportsToDict(Protocol):
    """Anything with ``to_dict()``: a ``Message`` from an earlier completion, for instance."""

    def to_dict(self) -> dict[str, Any]: ...


class SupportsSchema(Protocol):
    """Anything with an OpenAI tool ``schema``: a ``Tool`` made with ``@tool``."""

    @property
    def schema(self) -> Mapping[str, Any]: ...


MessageParam = Mapping[str, Any] | SupportsToDict
"""One message: a dict such as ``{"role": "user", "content": "Hi"}``, or a message view."""
ToolParam = Mapping[str, Any] | SupportsSchema
"""One tool: an OpenAI tool dict, or a ``Tool``."""
ToolChoiceParam = str | Mapping[str, Any] | SupportsSchema
"""``"auto"``, ``"none"``, ``"required"``, an OpenAI tool-choice dict, or the ``Tool`` to call."""


class CompletionOptions(TypedDict, total=False):
    """Every keyword a chat completion takes besides ``model``, ``messages`` and ``stream``.

    ``None`` leaves a field out of the request. The first five and the last four shape the call;
    the rest are sent in the JSON body as given.
    """

    tools: Iterable[ToolParam] | None
    tool_choice: ToolChoiceParam | None
    timeout: float | Timeout | None
    """Seconds for every phase, or a ``Timeout``; the client's by default."""
    max_retries: int | None
    """Retries of this call; the client's (2) by default."""
    extra_headers: Mapping[str, str] | None
    """HTTP headers added to this request."""
    extra_body: Mapping[str, Any] | None
    """Fields merged into the JSON body last: anything this list does not name."""
    temperature: float | None
    top_p: float | None
    top_k: int | None
    max_tokens: int | None
    max_completion_tokens: int | None
    stop: str | Sequence[str] | None
    n: int | None
    seed: int | None
    presence_penalty: float | None
    frequency_penalty: float | None
    logit_bias: Mapping[str, float] | None
    logprobs: bool | None
    top_logprobs: int | None
    response_format: Mapping[str, Any] | None
    reasoning_effort: str | None
    parallel_tool_calls: bool | None
    stream_options: Mapping[str, Any] | None
    user: str | None
    metadata: Mapping[str, str] | None
    limiter: Limiter | None
    """Waited on before every attempt of this call, instead of the client's (docs/workers.md)."""
    token_budget: TokenLimiter | None
    """Tokens reserved before each attempt and settled after, instead of the client's budget."""
    fallbacks: Sequence[str] | None
    """Models tried in order when the model fails with an error another model can fix."""
    cooldown: float | CooldownStore | None
    """Seconds a failed model is skipped (or the store of cooldowns); the client's by default."""
    deployment: str | None
    """Run on this dedicated deployment, through Clarifai's native API (docs/native.md)."""
    deployment_owner: str | None
    """The user (or organisation) owning the deployment or compute cluster; the model's user
    by default."""
    nodepool: tuple[str, str] | None
    """Run on this ``(compute_cluster_id, nodepool_id)``, through the native API."""
    native_retry: NativeRetry | None
    """How long a deployment that is deploying, busy or loading is waited for (native lane)."""


class CallOptions(NamedTuple):
    """The options that shape the call, apart from the fields copied into the body."""

    tools: Iterable[ToolParam] | None
    tool_choice: ToolChoiceParam | None
    timeout: float | Timeout | None
    max_retries: int | None
    extra_headers: Mapping[str, str] | None
    params: dict[str, Any]
    """Everything else: body fields (``None`` values are dropped later) and ``extra_body``."""
    limiter: Limiter | None = None
    token_budget: TokenLimiter | None = None
    fallbacks: Sequence[str] | None = None
    cooldown: float | CooldownStore | None = None
    target: Target | None = None
    """The deployment or nodepool to run on (the native lane), or None."""


def split_options(options: Mapping[str, Any]) -> CallOptions:
    """Sort ``acompletion()``'s keywords into what shapes the call and what goes in the body."""
    params = dict(options)
    limits = [params.pop(key, None) for key in ("limiter", "token_budget", "fallbacks", "cooldown")]
    native_retry = params.pop("native_retry", None)
    target = target_of(
        params.pop("deployment", None), params.pop("deployment_owner", None),
        params.pop("nodepool", None), native_retry,
    )
    if native_retry is not None and target is None:
        raise ConfigurationError("native_retry= applies to calls with deployment= or nodepool=")
    if target is not None and limits[2]:
        raise ConfigurationError(
            "fallbacks= cannot be combined with deployment= or nodepool=: a pinned deployment "
            "serves one model"
        )
    return CallOptions(
        params.pop("tools", None),
        params.pop("tool_choice", None),
        params.pop("timeout", None),
        params.pop("max_retries", None),
        params.pop("extra_headers", None),
        params,
        *limits,
    )._replace(target=target)
