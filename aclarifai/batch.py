"""Many chat completions at once: ``abatch_stream()`` yields each result as it is done,
``abatch_completion()`` collects them into a ``BatchResult``; ``BatchItem.to_row()`` flattens one.

``abatch_stream`` takes any iterable or async iterable of inputs and holds only a bounded window
of them at once (``_batchpump``): ``max_concurrency`` worker tasks, whatever the input length,
and at most ``2 * max_concurrency`` inputs pulled and not yet handed to the consumer
(``4 * max_concurrency`` with ``ordered=True``: the reorder window). A slow consumer slows the
input down; results never pile up. Closing or cancelling the consumer cancels the requests in
flight and awaits them: no task outlives the stream.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from ._batchpump import pump
from ._config import _Secret, is_clarifai_api, resolve_api_key, resolve_base_url
from ._default import acompletion
from ._ratelimit import CLARIFAI_DEFAULT_RATE, Limiter, RateLimiter
from .errors import APIError, ClientClosedError
from .hooks import emit
from .models import wire_model
from .types import ChatCompletion, Usage

if TYPE_CHECKING:
    from .client import AsyncClarifai

__all__ = [
    "CLARIFAI_DEFAULT_RATE",
    "ROW_COLUMNS",
    "BatchItem",
    "BatchResult",
    "RateLimiter",
    "abatch_completion",
    "abatch_stream",
    "total_usage",
]

ProgressCallback = Callable[[int, int], object]

ROW_COLUMNS = (
    "index", "key", "content", "finish_reason", "tool_calls", "prompt_tokens",
    "completion_tokens", "model", "latency", "error_type", "error_message", "status_code",
    "error_code", "request_id",
)
"""The keys of ``BatchItem.to_row()``, in order (the columns of a DataFrame or Arrow table)."""


class Acquirer(Protocol):
    """What ``limiter=`` accepts here: anything with ``async acquire()`` (``RateLimiter``)."""

    async def acquire(self) -> None: ...


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One input's outcome in a streamed batch: its completion, or the error it ended with."""

    index: int
    """The input's position in ``inputs`` (0-based)."""
    key: Any
    """The key of a ``(key, messages)`` input; the index for an input without one."""
    completion: ChatCompletion | None
    """The answer; None when the item failed."""
    error: Exception | None
    """Why the item failed: the ``APIError`` after the client's retries, or the ``ValueError`` /
    ``TypeError`` of an input that cannot be sent (messages that are not a list of messages)."""
    latency: float
    """Seconds from taking the input to its outcome: rate-limit waits and retries included."""
    model: str | None = None
    """The model asked for (the canonical URL); the answer's own ``model`` may differ."""

    @property
    def ok(self) -> bool:
        """Whether the item has a completion."""
        return self.error is None

    @property
    def usage(self) -> Usage | None:
        """The completion's token usage (None for a failed item or an answer without usage)."""
        return self.completion.usage if self.completion is not None else None

    @property
    def content(self) -> str | None:
        """The text of the first choice (None when failed, or when the answer has no text)."""
        completion = self.completion
        if completion is None or not completion.choices:
            return None
        return completion.choices[0].message.content

    def to_row(self) -> dict[str, Any]:
        """A flat, JSON-serialisable dict of this item: one JSONL line, DataFrame or Arrow row.

        Keys (``ROW_COLUMNS``): ``index``, ``key``, ``content``, ``finish_reason``,
        ``tool_calls`` (the first choice's calls as a JSON string, or None), ``prompt_tokens``,
        ``completion_tokens``, ``model``, ``latency`` (seconds), ``error_type`` (the exception's
        class name; None when the item succeeded), ``error_message``, ``status_code``,
        ``error_code`` (Clarifai's status code, when the server gave one) and ``request_id``
        (the server's request id for a failure; the completion's ``id`` for a success).
        """
        completion, error = self.completion, self.error
        row: dict[str, Any] = dict.fromkeys(ROW_COLUMNS)
        row["index"], row["key"], row["latency"] = self.index, self.key, self.latency
        row["model"] = self.model
        if completion is not None:
            _completion_fields(row, completion)
        if error is not None:
            row["error_type"] = type(error).__name__
            if isinstance(error, APIError):
                row["error_message"] = error.message
                row["status_code"], row["error_code"] = error.status_code, error.code
                row["request_id"] = error.request_id
            else:
                row["error_message"] = str(error)
        return row


def _completion_fields(row: dict[str, Any], completion: ChatCompletion) -> None:
    if completion.choices:
        choice = completion.choices[0]
        message = choice.message
        row["content"], row["finish_reason"] = message.content, choice.finish_reason
        calls = message.tool_calls
        if calls:
            row["tool_calls"] = orjson.dumps([call.to_dict() for call in calls]).decode()
    usage = completion.usage
    if usage is not None:
        row["prompt_tokens"], row["completion_tokens"] = usage.prompt_tokens, usage.completion_tokens
    row["model"] = completion.model or row["model"]
    row["request_id"] = completion.id


def _check_concurrency(max_concurrency: int) -> None:
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
        raise ValueError(f"max_concurrency must be an int >= 1, not {max_concurrency!r}")


def _split(index: int, item: Any) -> tuple[Any, Any]:
    """``(key, messages)``: a 2-tuple whose first element is not a message is a keyed input."""
    if isinstance(item, tuple) and len(item) == 2 and not isinstance(item[0], Mapping):
        return item[0], item[1]
    return index, item


def abatch_stream(
    model: str,
    inputs: Iterable[Any] | AsyncIterable[Any],
    *,
    max_concurrency: int = 8,
    limiter: Acquirer | None = None,
    ordered: bool = False,
    **params: Any,
) -> AsyncGenerator[BatchItem, None]:
    """Run one non-stream completion per input; yield each ``BatchItem`` as soon as it is done.

    >>> async with contextlib.aclosing(abatch_stream(MODEL, prompts(), max_concurrency=32)) as items:
    ...     async for item in items:
    ...         sink.write(item.to_row())

    - ``inputs``: an iterable or async iterable of messages lists, or of ``(key, messages)``
      tuples; it is read lazily, as room frees up, so it may be endless.
    - ``max_concurrency``: requests in flight at most (and worker tasks in all).
    - ``ordered``: yield in input order (items finished early wait in a reorder window of
      ``4 * max_concurrency``); otherwise in the order they finish.
    - ``limiter``: waited on before each request (``RateLimiter``, or any object with an
      ``async acquire()``; share one between batches and clients).
    - ``params``: as for ``abatch_completion()`` (``client=``, or ``api_key=``/``base_url=`` for
      the default client, ``timeout=``, ``max_retries=``, and body fields).

    A failed item is yielded with its ``error``: an ``APIError`` (after the client's retries),
    or the ``ValueError``/``TypeError`` of an input that cannot be sent. Anything else (a closed
    client, a bug, an exception from ``inputs``) ends the stream with that exception. A bad
    model, concurrency or missing PAT raises here, before anything starts. Leaving the loop
    early, or cancelling it, cancels the requests in flight; ``contextlib.aclosing`` makes that
    happen at once after a ``break``.
    """
    _wrap_credentials(params)
    _check_concurrency(max_concurrency)
    if params.pop("stream", None):
        raise ValueError("abatch_stream() makes non-stream requests: drop stream=True")
    client = params.get("client")
    url = client.base_url if client is not None else resolve_base_url(params.get("base_url"))
    canonical = wire_model(model, clarifai_api=is_clarifai_api(url))
    if client is None:
        resolve_api_key(params.get("api_key"))  # no PAT: say so once, not once per item
    job = _item_job(model, canonical, limiter, params)
    window = max_concurrency * (4 if ordered else 2)
    pairs = pump(
        inputs, job, concurrency=max_concurrency, window=window, ordered=ordered,
        pause_after=_failed,
    )
    return _items(pairs)


def _failed(item: BatchItem) -> bool:
    return item.error is not None


async def _items(pairs: AsyncGenerator[tuple[int, BatchItem], None]) -> AsyncGenerator[BatchItem, None]:
    async with aclosing(pairs):
        async for _, item in pairs:
            yield item


def _item_job(
    model: str, canonical: str, limiter: Acquirer | None, params: dict[str, Any]
) -> Callable[[int, Any], Awaitable[BatchItem]]:
    clock = time.perf_counter
    # An aclarifai Limiter goes to the client: it is awaited before every attempt, retries
    # included, and penalised on a throttle. Anything else with acquire() is awaited here.
    limits_each_attempt = isinstance(limiter, Limiter)
    if limits_each_attempt:
        params = {**params, "limiter": limiter}

    async def job(index: int, item: Any) -> BatchItem:
        key, messages = _split(index, item)
        started = clock()
        try:
            request = acompletion(model, messages, **params)
        except (ValueError, TypeError) as exc:  # this input cannot be sent; the others can
            return BatchItem(index, key, None, exc, clock() - started, canonical)
        try:
            if limiter is not None and not limits_each_attempt:
                await limiter.acquire()
            completion = await request
        except ClientClosedError:
            raise  # not this item's failure: the whole batch ends (docs/batches.md)
        except APIError as exc:
            return BatchItem(index, key, None, exc, clock() - started, canonical)
        assert isinstance(completion, ChatCompletion)  # non-stream: stream is never set
        return BatchItem(index, key, completion, None, clock() - started, canonical)

    return job


class BatchResult(list[ChatCompletion | APIError]):
    """The outcome of each item, in input order: its ``ChatCompletion`` or its ``APIError``.

    A plain list (index it, iterate it, ``len()`` it) with a few summaries on top.
    """

    @property
    def completions(self) -> list[ChatCompletion]:
        """The successful items only (their positions are lost: iterate the list for those)."""
        return [item for item in self if isinstance(item, ChatCompletion)]

    @property
    def errors(self) -> list[tuple[int, APIError]]:
        """``(index, error)`` for each failed item."""
        return [(i, item) for i, item in enumerate(self) if isinstance(item, APIError)]

    @property
    def ok(self) -> bool:
        """Whether every item succeeded."""
        return not any(isinstance(item, APIError) for item in self)

    @property
    def usage(self) -> Usage:
        """Token usage summed over the successful items (``total_usage(self)``)."""
        return total_usage(self)


def total_usage(results: Iterable[object]) -> Usage:
    """Sum the usage of ``ChatCompletion``, ``BatchItem`` (or ``Usage``) items; errors and None
    are skipped.

    >>> total_usage(await abatch_completion(MODEL, batches)).total_tokens
    """
    total = Usage({})  # empty, not zeros: a usage without total_tokens then still sums right
    for item in results:
        if isinstance(item, BatchItem):
            item = item.completion
        usage = item.usage if isinstance(item, ChatCompletion) else item
        if isinstance(usage, Usage):
            total = total + usage
    return total


async def abatch_completion(
    model: str,
    messages_list: Iterable[Any],
    *,
    max_concurrency: int = 8,
    return_exceptions: bool = True,
    client: AsyncClarifai | None = None,
    rate_limit: float | Limiter | None = None,
    on_progress: ProgressCallback | None = None,
    **params: Any,
) -> BatchResult:
    """Run one non-stream completion per messages list; return the results in input order.

    >>> results = await abatch_completion(MODEL, [[{"role": "user", "content": q}] for q in qs])
    >>> [r.choices[0].message.content for r in results.completions], results.usage.total_tokens

    - ``max_concurrency``: requests in flight at most.
    - ``return_exceptions=True``: an item that fails (any ``APIError``, after the client's
      retries) is returned in its place; ``False``: the first failure is raised and the rest of
      the batch is cancelled. Other exceptions (a closed client, a bug) are always raised.
    - ``rate_limit``: request starts per second (a number), or any ``aclarifai.Limiter`` to share
      between batches, clients and processes (``RateLimiter``,
      ``aclarifai.redis.RedisRateLimiter``); None for no limit (beyond the client's own
      ``limiter``). Every attempt waits on it, retries included. Clarifai's default account
      limit is 15 per second.
    - ``on_progress(done, total)``: sync or async, called with ``done=0`` first and after each
      item; what it raises is logged and ignored.
    - ``client``: the client to use; without it the default client of ``acompletion()``
      (``api_key=``, ``base_url=``, ``timeout=``, ``max_retries=`` go in ``params``).
      Other ``params`` go into every request body (``temperature``, ``max_tokens``, ...).

    Bad arguments (model, messages, params) raise before any request is sent. This collects
    ``abatch_stream()``: use that for inputs too large to hold, or to see results as they come.
    """
    _wrap_credentials(params)
    _check_concurrency(max_concurrency)
    if params.pop("stream", None):
        raise ValueError("abatch_completion() makes non-stream requests: drop stream=True")
    limiter = _as_limiter(rate_limit)
    items = list(messages_list)
    for messages in items:  # a bad item raises here, before any request is paid for
        acompletion(model, messages, client=client, **params)
    total = len(items)
    results: list[Any] = [None] * total
    await emit(on_progress, 0, total)
    stream = abatch_stream(
        model, items, max_concurrency=max_concurrency, limiter=limiter, ordered=False,
        client=client, **params,
    )
    async with aclosing(stream):
        done = 0
        async for item in stream:
            if item.error is not None and not return_exceptions:
                raise item.error
            results[item.index] = item.completion if item.error is None else item.error
            done += 1
            if on_progress is not None:
                await emit(on_progress, done, total)
    return BatchResult(results)


def _wrap_credentials(params: dict[str, Any]) -> None:
    """Wrap ``api_key`` and ``base_url`` in place, so no frame's locals show them in a traceback."""
    for name in ("api_key", "base_url"):
        if params.get(name) is not None:
            params[name] = _Secret.wrap(params[name])


def _as_limiter(rate_limit: float | Limiter | None) -> Limiter | None:
    """``rate_limit=`` as a limiter: a number of requests per second, a limiter, or None."""
    if rate_limit is None or isinstance(rate_limit, Limiter):
        return rate_limit
    return RateLimiter(rate_limit)
