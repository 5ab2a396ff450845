"""Many chat completions at once: ``abatch_completion()``, its ``BatchResult``, ``total_usage()``;
and the JSONL request and result files of ``python -m aclarifai batch``.

A fixed pool of ``max_concurrency`` workers takes the items in order, so a batch of 100,000
requests holds 8 tasks, not 100,000, and never more than ``max_concurrency`` requests are in
flight. An optional ``RateLimiter`` spaces out request starts. Results keep the input order.
When the batch stops early (an error with ``return_exceptions=False``, or the caller cancels),
the workers are cancelled and awaited before control returns: no task outlives the call.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from ._default import acompletion
from ._ratelimit import CLARIFAI_DEFAULT_RATE, Limiter, RateLimiter
from .errors import APIError
from .hooks import emit
from .types import ChatCompletion, Usage

if TYPE_CHECKING:
    from .client import AsyncClarifai

__all__ = [
    "CLARIFAI_DEFAULT_RATE",
    "BatchResult",
    "RateLimiter",
    "abatch_completion",
    "total_usage",
]

R = TypeVar("R")
ProgressCallback = Callable[[int, int], object]


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
    """Sum the usage of ``ChatCompletion`` (or ``Usage``) items; errors and None are skipped.

    >>> total_usage(await abatch_completion(MODEL, batches)).total_tokens
    """
    total = Usage({})  # empty, not zeros: a usage without total_tokens then still sums right
    for item in results:
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

    Bad arguments (model, messages, params) raise before any request is sent.
    """
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
        raise ValueError(f"max_concurrency must be an int >= 1, not {max_concurrency!r}")
    if params.pop("stream", None):
        raise ValueError("abatch_completion() makes non-stream requests: drop stream=True")
    limiter = _as_limiter(rate_limit)
    # Build every request first: a bad item raises here, before any request is paid for.
    requests = [
        acompletion(model, messages, client=client, limiter=limiter, **params)
        for messages in messages_list
    ]
    total = len(requests)
    done = 0

    async def job(index: int) -> ChatCompletion:
        result = await requests[index]
        assert isinstance(result, ChatCompletion)  # non-stream: stream was never set
        return result

    async def progress(index: int, outcome: object) -> None:
        nonlocal done
        done += 1
        await emit(on_progress, done, total)

    await emit(on_progress, 0, total)
    results = await _run_bounded(
        total, job, max_concurrency=max_concurrency,
        return_exceptions=return_exceptions, on_done=progress if on_progress else None,
    )
    return BatchResult(results)


def _as_limiter(rate_limit: float | Limiter | None) -> Limiter | None:
    """``rate_limit=`` as a limiter: a number of requests per second, a limiter, or None."""
    if rate_limit is None or isinstance(rate_limit, Limiter):
        return rate_limit
    return RateLimiter(rate_limit)


async def _run_bounded(
    count: int,
    job: Callable[[int], Awaitable[R]],
    *,
    max_concurrency: int,
    limiter: Limiter | None = None,
    return_exceptions: bool = True,
    on_done: Callable[[int, R | APIError], Awaitable[object]] | None = None,
) -> list[R | APIError]:
    """Run ``job(0) ... job(count - 1)`` with at most ``max_concurrency`` at a time.

    Returns the outcomes in index order (an ``APIError`` in place of a failed job when
    ``return_exceptions``); ``on_done(index, outcome)`` is awaited after each job.
    """
    results: list[Any] = [None] * count
    indices = iter(range(count))
    failures: list[BaseException] = []

    async def worker() -> None:
        try:
            for index in indices:  # shared: each index goes to exactly one worker
                if limiter is not None:
                    await limiter.acquire()
                outcome: R | APIError
                try:
                    outcome = await job(index)
                except APIError as error:
                    if not return_exceptions:
                        raise
                    outcome = error
                results[index] = outcome
                if on_done is not None:
                    await on_done(index, outcome)
        except Exception as exc:
            failures.append(exc)  # in the order they happened: the first one is raised
            raise

    workers = [asyncio.ensure_future(worker()) for _ in range(min(max_concurrency, count))]
    try:
        if workers:
            await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in workers:
            task.cancel()
        # Also retrieves every worker's exception, so none is logged as "never retrieved".
        await asyncio.gather(*workers, return_exceptions=True)
    if failures:
        raise failures[0]
    return results


# -- JSONL files (the ``batch`` command of ``python -m aclarifai``) -------------------------------


@dataclass
class _Line:
    """One request of the input file, or the reason it cannot be one."""

    index: int
    id: Any = None
    messages: Any = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def _parse_line(index: int, raw: bytes) -> _Line:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _Line(index, problem=f"not valid JSON: {exc}")
    if isinstance(obj, list):
        return _Line(index, messages=obj)
    if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list):
        return _Line(index, problem='expected a list of messages or an object with "messages"')
    line = _Line(index, id=obj.pop("id", None), messages=obj.pop("messages"))
    if line.id is not None and not isinstance(line.id, (str, int)):
        line.problem = f'"id" must be a string or an integer, not {type(line.id).__name__}'
    model = obj.pop("model", None)
    if model is not None and not isinstance(model, str):
        line.problem = '"model" must be a string'
    line.model = model
    if obj.pop("stream", None):
        line.problem = "streaming is not supported in a batch: drop \"stream\""
    line.params = obj
    return line


def _read_requests(path: Path) -> list[_Line]:
    lines: list[_Line] = []
    first_with_id: dict[Any, int] = {}
    for index, raw in enumerate(path.read_bytes().split(b"\n")):
        if not raw.strip():
            continue
        line = _parse_line(index, raw)
        if line.id is not None and line.problem is None:
            first = first_with_id.setdefault(line.id, index)
            if first != index:
                line.problem = f"duplicate id {line.id!r} (first on line index {first})"
        lines.append(line)
    return lines


def _load_finished(path: Path) -> tuple[set[int], set[Any]]:
    """Indices and ids that already have a response; drops stale error records from the file.

    A truncated last line (a run killed mid-write) is dropped too; any other line that is not a
    record means this is not our file, and it is left alone.
    """
    if not path.exists():
        return set(), set()
    raw_lines = path.read_bytes().split(b"\n")
    keep: list[bytes] = []
    indices: set[int] = set()
    ids: set[Any] = set()
    dropped = 0
    for position, raw in enumerate(raw_lines):
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("index"), int):
            if any(r.strip() for r in raw_lines[position + 1 :]):
                raise ValueError(
                    f"{path} line {position + 1} is not a batch record; refusing to append to it"
                )
            dropped += 1
            continue
        if "response" not in record:
            dropped += 1  # a failed line: it is retried, and its new record replaces this one
            continue
        keep.append(raw)
        indices.add(record["index"])
        if record.get("id") is not None:
            ids.add(record["id"])
    if dropped:
        # Rewrite through a temporary file so a crash here cannot lose the kept responses.
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(b"".join(line + b"\n" for line in keep))
        os.replace(temporary, path)
    return indices, ids


def _error_record(line: _Line, error: BaseException | None = None) -> dict[str, Any]:
    """The output record of a failed line: ``error``, or the line's own ``problem``."""
    kind, message, status, code = "InvalidLine", line.problem, None, None
    if isinstance(error, APIError):
        kind, message, status, code = type(error).__name__, error.message, error.status_code, error.code
    elif error is not None:
        kind, message = type(error).__name__, str(error)
    details = {"type": kind, "message": message, "status_code": status, "code": code}
    return {"id": line.id, "index": line.index, "error": details}
