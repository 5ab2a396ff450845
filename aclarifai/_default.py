"""Module-level ``acompletion()``: one default client per running event loop.

Each loop gets its own clients (an aiohttp session cannot cross loops). They are closed when the
loop shuts down: an async generator parked on the loop has its ``finally`` run by
``loop.shutdown_asyncgens()``, which ``asyncio.run()`` (and pytest-asyncio) call before closing
the loop, so no "Unclosed client session" is ever reported. ``aclose_default_clients()`` closes
them earlier, by hand.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import AsyncGenerator, Iterable
from typing import TYPE_CHECKING, Literal, overload

from ._admission import Limits
from ._config import Timeout, _Secret, is_clarifai_api, resolve_api_key, resolve_base_url
from ._options import CompletionOptions, MessageParam, split_options
from ._request import CompletionRequest, build_body
from .client import AsyncClarifai, _check_retries
from .errors import ConfigurationError
from .streaming import CompletionStream
from .types import ChatCompletion

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["acompletion", "aclose_default_clients"]


class _LoopClients:
    """The default clients of one event loop, and the generator that closes them with it."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], AsyncClarifai] = {}
        self.closer: AsyncGenerator[None, None] | None = None

    async def close_all(self) -> None:
        clients = list(self.clients.values())
        self.clients.clear()
        for client in clients:
            await client.aclose()


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = (
    weakref.WeakKeyDictionary()
)


async def _close_with_loop(holder: _LoopClients) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await holder.close_all()


async def _default_client(api_key: _Secret, base_url: str) -> AsyncClarifai:
    loop = asyncio.get_running_loop()
    holder = _per_loop.get(loop)
    if holder is None:
        holder = _per_loop[loop] = _LoopClients()
        holder.closer = _close_with_loop(holder)
        await holder.closer.__anext__()
    key = (hashlib.sha256(api_key.reveal().encode()).hexdigest(), base_url)
    client = holder.clients.get(key)
    if client is None or client.closed:
        client = holder.clients[key] = AsyncClarifai(api_key=api_key.reveal(), base_url=base_url)
    return client


async def aclose_default_clients() -> None:
    """Close the default clients of the running loop (they reopen on next use)."""
    holder = _per_loop.get(asyncio.get_running_loop())
    if holder is not None:
        await holder.close_all()


@overload
def acompletion(
    model: str,
    messages: Iterable[MessageParam],
    *,
    stream: Literal[False] | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    client: AsyncClarifai | None = None,
    **options: Unpack[CompletionOptions],
) -> CompletionRequest[ChatCompletion]: ...


@overload
def acompletion(
    model: str,
    messages: Iterable[MessageParam],
    *,
    stream: Literal[True],
    api_key: str | None = None,
    base_url: str | None = None,
    client: AsyncClarifai | None = None,
    **options: Unpack[CompletionOptions],
) -> CompletionRequest[CompletionStream]: ...


@overload
def acompletion(
    model: str,
    messages: Iterable[MessageParam],
    *,
    stream: bool | None,
    api_key: str | None = None,
    base_url: str | None = None,
    client: AsyncClarifai | None = None,
    **options: Unpack[CompletionOptions],
) -> CompletionRequest[ChatCompletion | CompletionStream]: ...


def acompletion(
    model: str,
    messages: Iterable[MessageParam],
    *,
    stream: bool | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    client: AsyncClarifai | None = None,
    **options: Unpack[CompletionOptions],
) -> CompletionRequest[ChatCompletion | CompletionStream]:
    """Chat completion against Clarifai: iterate it to stream, or await it.

    >>> async for chunk in acompletion(model=MODEL, messages=[{"role": "user", "content": "Hi"}]):
    ...     print(chunk.choices[0].delta.content or "", end="")
    >>> completion = await acompletion(model=MODEL, messages=msgs)          # ChatCompletion
    >>> stream = await acompletion(model=MODEL, messages=msgs, stream=True)  # CompletionStream

    The keywords are those of ``CompletionOptions``, shared with ``AsyncClarifai.acompletion()``
    (``temperature``, ``max_tokens``, ``reasoning_effort``, ``top_k``, ``tools``, ``timeout``,
    ...); ``None`` values are dropped, and ``extra_body={...}`` adds any other field. Without
    ``client=``, a default client per event loop is used (PAT from ``api_key`` or
    ``CLARIFAI_PAT``). ``limiter``, ``token_budget``, ``fallbacks`` and ``cooldown``: see
    docs/workers.md.
    """
    # The first line: from here on this frame holds the PAT and the URL only wrapped.
    given_key, given_base = _Secret.wrap(api_key), _Secret.wrap(base_url)
    del api_key, base_url
    if client is not None:
        if given_key is not None or given_base is not None:
            raise ConfigurationError("pass api_key and base_url to the client, not with client=")
        return client.acompletion(model, messages, stream=stream, **options)
    key = resolve_api_key(given_key)
    base = resolve_base_url(given_base)
    clarifai_api = is_clarifai_api(base)
    call = split_options(options)
    body = build_body(
        model, messages, tools=call.tools, tool_choice=call.tool_choice, params=call.params,
        clarifai_api=clarifai_api,
    )
    limits = Limits.of(
        call.limiter, call.token_budget, call.fallbacks, call.cooldown, clarifai_api=clarifai_api
    )

    async def get_client() -> AsyncClarifai:
        return await _default_client(key, base)

    return CompletionRequest(
        get_client,
        body,
        stream=stream,
        timeout=Timeout.coerce(call.timeout) if call.timeout is not None else None,
        max_retries=None if call.max_retries is None else _check_retries(call.max_retries),
        extra_headers=call.extra_headers,
        limits=limits,
        target=call.target,
    )
