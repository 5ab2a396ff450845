"""The ``batch`` command of ``python -m aclarifai``: every request of a JSONL file, resumably, with
a progress line (done, failures, rate, ETA) on a terminal."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from ._batchfile import Line, load_finished, read_requests, run_line
from ._batchpump import pump
from ._cli_errors import error_line
from ._config import is_clarifai_api, resolve_api_key, resolve_base_url
from .batch import BatchItem, RateLimiter
from .client import AsyncClarifai
from .errors import ClarifaiError
from .models import wire_model
from .types import Usage

__all__ = ["BATCH_HELP", "run_batch"]

BATCH_HELP = """\
Each input line is a list of messages, or an object {"messages": [...], ...} with an optional
"id", an optional "model" and any request parameters ("temperature", "max_tokens", ...).
Each output line is a flat row: {"index", "key", "content", "finish_reason", "tool_calls",
"prompt_tokens", "completion_tokens", "model", "latency", "error_type", "error_message",
"status_code", "error_code", "request_id"}; "index" is the 0-based line number in the input,
"key" the line's "id" (null without one), "error_type" null when the line was answered.
Rerunning skips lines that already have an answer (matched by "id" when the line has one, else
by index) and retries failed ones. On a terminal a progress line shows lines done, failures,
the rate and the time left. Exit status: 0 all done, 1 some line failed, 2 a mistake in the
command (nothing was sent).
"""
_BAR_WIDTH = 30


class _Progress:
    """``[#####-----] 12/40, 1 failed, 3.2/s, ETA 9s`` on a terminal, redrawn in place;
    nothing otherwise. The rate counts only lines finished by this run."""

    def __init__(
        self, stream: TextIO, done: int, total: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._clock = clock
        self._start = clock()
        self._skipped = done
        self._width = 0
        self.done = done
        self.failures = 0
        self.total = total

    def advance(self, failed: bool = False) -> None:
        self.done += 1
        self.failures += failed
        self.draw()

    def line(self) -> str:
        filled = self.done * _BAR_WIDTH // self.total
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        text = f"[{bar}] {self.done}/{self.total}, {self.failures} failed"
        finished = self.done - self._skipped
        elapsed = self._clock() - self._start
        if finished and elapsed > 0:
            rate = finished / elapsed
            text += f", {rate:.1f}/s, ETA {_duration((self.total - self.done) / rate)}"
        return text

    def draw(self) -> None:
        if not self._tty or not self.total:
            return
        text = self.line()
        self._stream.write("\r" + text.ljust(self._width))  # cover a longer earlier line
        self._width = len(text)
        self._stream.flush()

    def close(self) -> None:
        if self._tty and self.total:
            self._stream.write("\n")


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


@dataclass
class _Tally:
    responses: int = 0
    failures: int = 0
    usage: Usage = field(default_factory=lambda: Usage({}))


async def _run_lines(
    args: Any, pending: list[Line], write: Callable[[dict[str, Any]], None],
    progress: _Progress,
) -> _Tally:
    tally = _Tally()
    # The client's limiter: every attempt waits on it, retries included (not only each line).
    async with AsyncClarifai(
        api_key=args.api_key, base_url=args.base_url, max_retries=args.max_retries,
        limiter=_as_limiter(args.rate_limit),
    ) as client:

        async def job(position: int, line: Line) -> BatchItem:
            return await run_line(client, line, args.model, None)

        rows = pump(
            pending, job, concurrency=args.concurrency, window=2 * args.concurrency
        )
        async with aclosing(rows):
            async for _, item in rows:
                write(item.to_row())
                if item.completion is not None:
                    tally.responses += 1
                    tally.usage = tally.usage + item.completion.usage
                else:
                    tally.failures += 1
                progress.advance(failed=item.completion is None)
    return tally


def _as_limiter(rate: float | None) -> RateLimiter | None:
    return None if rate is None else RateLimiter(rate)


def run_batch(args: Any, err: TextIO | None = None) -> int:
    """``batch`` subcommand: 0 when every line has a response, 1 when some failed, 2 when
    nothing could start (bad arguments or files, no PAT)."""
    err = err or sys.stderr
    try:
        resolve_api_key(args.api_key)  # no PAT or a bad base URL: say so before touching files
        base_url = resolve_base_url(args.base_url)
        lines = read_requests(args.input)
        done_indices, done_ids = load_finished(args.output)
        if args.concurrency < 1:
            raise ValueError("--concurrency must be >= 1")
        _as_limiter(args.rate_limit)  # validates the rate
        pending = [line for line in lines if not line.finished(done_indices, done_ids)]
        if args.model is not None:
            wire_model(args.model, clarifai_api=is_clarifai_api(base_url))
        elif any(line.model is None and line.problem is None for line in pending):
            raise ValueError("no model: pass --model (or set ACLARIFAI_MODEL), or name one per line")
    except (OSError, ValueError, ClarifaiError) as exc:
        print(error_line(exc), file=err)
        return 2
    progress = _Progress(err, len(lines) - len(pending), len(lines))
    progress.draw()
    try:
        with args.output.open("ab") as out:
            if out.tell() and not _ends_with_newline(args.output):
                out.write(b"\n")

            def write(record: dict[str, Any]) -> None:
                out.write(orjson.dumps(record) + b"\n")
                out.flush()  # a run killed at any point keeps every answer it paid for

            tally = asyncio.run(_run_lines(args, pending, write, progress))
    except ClarifaiError as exc:
        progress.close()
        print(error_line(exc), file=err)
        return 1
    except KeyboardInterrupt:
        progress.close()
        print(f"interrupted: rerun the same command to resume ({args.output})", file=err)
        return 130
    progress.close()
    skipped = len(lines) - len(pending)
    print(
        f"batch: {tally.responses} answered, {tally.failures} failed, {skipped} already done "
        f"({len(lines)} lines) -> {args.output}; {tally.usage.total_tokens} tokens",
        file=err,
    )
    return 1 if tally.failures else 0


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"
