"""aclarifai.ray: chat completions as a Ray Data transform (``pip install 'aclarifai[ray]'``).

>>> import ray
>>> from aclarifai.ray import ClarifaiChat
>>> ds = ray.data.read_parquet("prompts.parquet")               # a "messages" column
>>> out = ds.map_batches(
...     ClarifaiChat,
...     fn_constructor_kwargs={"model": MODEL, "rate_limit": 15, "actors": 4},
...     compute=ray.data.ActorPoolStrategy(size=4),  # or concurrency=4
...     batch_size=64,
...     num_cpus=0.25,  # the actors wait on the network: let them share a CPU
... )

Each actor runs one ``ClarifaiChat``: Ray constructs it inside the actor, and its first batch
creates the client (and the limiter) on the actor's own event loop. A batch's rows are sent with
at most ``max_concurrency`` requests in flight per actor (whatever the number of batches Ray
runs at once in it), and each row's outcome becomes one output row: the ``BatchItem.to_row()``
columns (``aclarifai.batch.ROW_COLUMNS``), after the input columns. A row that fails (an
``APIError`` after the client's retries, a cell that holds no messages) gets its error in the
``error_*`` columns; only a misconfiguration (a missing column, a bad argument) fails the block.

The PAT: leave ``api_key`` out and set ``CLARIFAI_PAT`` where the actors run, or pass
``Secret(pat)``. Ray pickles the constructor arguments into its object store on the driver, so a
plain string there would be stored in plain text; a plain string is refused.
"""

from __future__ import annotations

try:
    import pyarrow  # noqa: F401  (ray[data] brings pyarrow, numpy and pandas)
    import ray.data  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("aclarifai.ray needs the ray extra: pip install 'aclarifai[ray]'") from exc

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence
from typing import Any

from ._batchpump import pump
from ._columns import Columns, Prompts, output_table
from ._config import _Secret, resolve_api_key, resolve_base_url
from ._ratelimit import CLARIFAI_DEFAULT_RATE, RateLimiter, check_rate
from .batch import ROW_COLUMNS, Acquirer, BatchItem, _check_concurrency, _item_job
from .client import AsyncClarifai
from .errors import ConfigurationError
from .models import resolve_model

__all__ = ["ClarifaiChat", "Secret"]

LimiterFactory = Callable[[], Acquirer | None]


class Secret:
    """A PAT to hand to ``ClarifaiChat(api_key=...)``: hidden in reprs, not plain in a pickle.

    >>> fn_constructor_kwargs={"model": MODEL, "api_key": Secret(os.environ["MY_PAT"])}

    Pickled, it is the PAT XORed with a random pad of its length (both in the pickle): what Ray
    stores and logs never shows the token as text. That keeps it out of sight, not out of reach
    of someone who can read Ray's object store; to keep it out of Ray altogether, set
    ``CLARIFAI_PAT`` in the workers' environment and leave ``api_key`` out.
    """

    __slots__ = ("_pad", "_sealed")

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ConfigurationError("Secret() takes the PAT as a non-empty str")
        data = value.encode()
        self._pad = os.urandom(len(data))
        self._sealed = bytes(a ^ b for a, b in zip(data, self._pad, strict=True))

    def reveal(self) -> str:
        return bytes(a ^ b for a, b in zip(self._sealed, self._pad, strict=True)).decode()

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unseal, (self._pad, self._sealed))


def _unseal(pad: bytes, sealed: bytes) -> Secret:
    secret = Secret.__new__(Secret)
    secret._pad, secret._sealed = pad, sealed
    return secret


def _api_key(api_key: Secret | None) -> _Secret:
    if isinstance(api_key, str):
        raise ConfigurationError(
            "ClarifaiChat(api_key=...) takes aclarifai.ray.Secret(pat), not a str: Ray pickles "
            "constructor arguments into its object store, where a str stays in plain text. Or "
            "set CLARIFAI_PAT in the workers' environment and leave api_key out."
        )
    if api_key is not None and not isinstance(api_key, Secret):
        raise ConfigurationError(
            f"api_key must be an aclarifai.ray.Secret or None, not {type(api_key).__name__}"
        )
    return resolve_api_key(_Secret(api_key.reveal()) if api_key is not None else None)


def _limiter_factory(
    limiter: LimiterFactory | None, rate_limit: float | None, actors: int
) -> LimiterFactory:
    if isinstance(actors, bool) or not isinstance(actors, int) or actors < 1:
        raise ConfigurationError(f"actors must be an int >= 1 (the size of the actor pool), not {actors!r}")
    if limiter is not None:
        if rate_limit is not None:
            raise ConfigurationError("pass limiter= or rate_limit=, not both: the limiter sets the rate")
        if not callable(limiter) or callable(getattr(limiter, "acquire", None)):
            raise ConfigurationError(
                "limiter= takes a zero-argument factory, called inside each actor (a Redis "
                "connection cannot be pickled): limiter=lambda: RedisRateLimiter(Redis.from_url(URL), "
                f"key=..., rate=15), not a {type(limiter).__name__}"
            )
        return limiter
    total = CLARIFAI_DEFAULT_RATE if rate_limit is None else check_rate("rate_limit", rate_limit)
    share = total / actors
    return lambda: RateLimiter(share)


class ClarifaiChat:
    """A Ray Data callable class: one chat completion per row of each batch.

    ``ds.map_batches(ClarifaiChat, fn_constructor_kwargs={"model": MODEL, ...}, ...)``.

    Where the messages come from (one of):

    - ``messages_column`` (default ``"messages"``): a messages list per row, or its JSON text;
    - ``prompt_column``: the user's text per row;
    - ``template``: ``str.format`` over the row's columns (``"Translate into {lang}: {text}"``),
      with ``{prompt}`` for the ``prompt_column`` cell when both are given;
    - ``system``: a system message put before the user's text (prompt and template modes).

    Output: the input columns (``passthrough=True``; a list keeps only those, ``False`` none),
    then the ``ROW_COLUMNS``. ``index`` is the row's position in its batch; ``key`` is the
    ``key_column`` cell, or that index. An input column named like an output column is refused.

    Rate: ``limiter`` is a zero-argument factory called once inside each actor; give every actor
    the same shared limiter (``aclarifai.redis.RedisRateLimiter``) to hold one account-wide rate
    across actors and machines. A factory returning None means no limit. Without ``limiter``,
    each actor limits itself to ``rate_limit / actors`` request starts per second
    (``rate_limit`` defaults to Clarifai's default account limit, 15; set ``actors`` to the size
    of the actor pool). Either way the limiter is waited on before every attempt and penalised
    when the server throttles.

    ``max_concurrency``: requests in flight per actor. ``api_key``: a ``Secret``, or None for
    ``CLARIFAI_PAT`` in the actor's environment. ``params``: per request, as for
    ``abatch_stream()`` (``temperature``, ``max_tokens``, ``timeout``, ``max_retries``, ...).
    """

    def __init__(
        self,
        model: str,
        *,
        messages_column: str = "messages",
        prompt_column: str | None = None,
        template: str | None = None,
        system: str | None = None,
        key_column: str | None = None,
        passthrough: bool | Sequence[str] = True,
        max_concurrency: int = 8,
        limiter: LimiterFactory | None = None,
        rate_limit: float | None = None,
        actors: int = 1,
        api_key: Secret | None = None,
        base_url: str | None = None,
        **params: Any,
    ) -> None:
        _check_concurrency(max_concurrency)
        if params.pop("stream", None):
            raise ConfigurationError("ClarifaiChat makes non-stream requests: drop stream=True")
        if params.pop("client", None) is not None:
            raise ConfigurationError("ClarifaiChat makes its own client in each actor: drop client=")
        self._model = model
        self._canonical = resolve_model(model)
        self._prompts = Prompts(messages_column, prompt_column, template, system)
        if key_column is not None and (not isinstance(key_column, str) or not key_column):
            raise ConfigurationError(f"key_column must be a column name, not {key_column!r}")
        self._key_column = key_column
        self._passthrough = _check_passthrough(passthrough)
        self._max_concurrency = max_concurrency
        self._make_limiter = _limiter_factory(limiter, rate_limit, actors)
        self._api_key = _api_key(api_key)
        del api_key
        self._base_url = resolve_base_url(base_url)
        self._params = params
        self._client: AsyncClarifai | None = None
        self._limiter: Acquirer | None = None
        self._gate: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def limiter(self) -> Acquirer | None:
        """The limiter this actor waits on (made by the factory at its first batch; None before)."""
        return self._limiter

    def __repr__(self) -> str:
        return f"ClarifaiChat(model={self._canonical!r}, max_concurrency={self._max_concurrency})"

    def __getstate__(self) -> Any:
        raise TypeError("a ClarifaiChat is made inside each actor: pass the class to map_batches")

    async def __call__(self, batch: Any) -> Any:
        """Complete every row of ``batch``; returns a ``pyarrow.Table`` (inputs, then rows)."""
        columns = Columns(batch)
        passthrough = self._passthrough_columns(columns)
        inputs = self._prompts.read(columns)
        keys = None
        if self._key_column is not None:
            columns.require([self._key_column], "key_column")
            keys = columns.values(self._key_column)
        items: list[BatchItem | None] = [None] * len(inputs)
        if inputs:
            job = self._job()
            workers = min(self._max_concurrency, len(inputs))
            async with contextlib.aclosing(
                pump(inputs, job, concurrency=workers, window=len(inputs))
            ) as outcomes:
                async for index, item in outcomes:
                    items[index] = item
        done = [item for item in items if item is not None]
        assert len(done) == len(items)  # the pump yields one outcome per input
        return output_table(columns, passthrough, done, keys)

    def _passthrough_columns(self, columns: Columns) -> list[str]:
        chosen = self._passthrough
        if chosen is True:
            names = columns.names
        elif chosen is False:
            names = []
        else:
            columns.require(chosen, "passthrough")
            names = list(chosen)
        clash = [name for name in names if name in ROW_COLUMNS]
        if clash:
            raise ConfigurationError(
                f"input column {', '.join(map(repr, clash))} would clash with ClarifaiChat's output "
                "column of that name: rename it, or list the columns to keep in passthrough=[...]"
            )
        return names

    def _job(self) -> Callable[[int, Any], Any]:
        """The per-row job, on the actor's loop: makes the client and limiter on first use."""
        if self._client is None:
            self._loop = asyncio.get_running_loop()
            self._limiter = self._make_limiter()
            self._client = AsyncClarifai(api_key=self._api_key.reveal(), base_url=self._base_url)
            self._gate = asyncio.Semaphore(self._max_concurrency)
            # A bad keyword fails the block here, instead of every row one by one.
            self._client.acompletion(self._model, [{"role": "user", "content": "-"}], **self._params)
        params = {**self._params, "client": self._client}
        send = _item_job(self._model, self._canonical, self._limiter, params)
        gate, canonical = self._gate, self._canonical
        assert gate is not None

        async def job(index: int, messages: Any) -> BatchItem:
            if isinstance(messages, Exception):  # this row has nothing to send
                return BatchItem(index, index, None, messages, 0.0, canonical)
            async with gate:
                return await send(index, messages)

        return job

    async def aclose(self) -> None:
        """Close the client (and the limiter, if it has ``aclose()``); Ray calls it at shutdown."""
        client, limiter = self._client, self._limiter
        self._client = self._limiter = None
        if client is not None:
            await client.aclose()
        closer = getattr(limiter, "aclose", None)
        if callable(closer):
            await closer()

    async def __aenter__(self) -> ClarifaiChat:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Ray drops the instance when the actor shuts down gracefully, from the actor's main
        # thread while its event loop still runs in another: close the session on that loop.
        loop, client = getattr(self, "_loop", None), getattr(self, "_client", None)
        if loop is None or client is None or loop.is_closed() or not loop.is_running():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return  # on the loop's own thread: nothing can wait for it here
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.aclose(), loop).result(timeout=5)


def _check_passthrough(passthrough: bool | Sequence[str]) -> bool | list[str]:
    if isinstance(passthrough, bool):
        return passthrough
    if isinstance(passthrough, str) or not all(isinstance(n, str) for n in passthrough):
        raise ConfigurationError(
            f"passthrough must be True, False or a list of column names, not {passthrough!r}"
        )
    return list(passthrough)
