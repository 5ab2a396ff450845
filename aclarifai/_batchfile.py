"""The JSONL request and result files of ``python -m aclarifai batch``, and the job that runs one
request line.

Each input line is a messages list or an object ``{"messages": [...], "id"?, "model"?, ...params}``.
Each output line is a ``BatchItem.to_row()`` whose ``key`` is the line's ``id`` (null without one)
and whose ``index`` is the line's 0-based number in the input. A line is finished when its row has
no ``error_type``; a rerun skips finished lines (by ``id`` when the line has one, else by index),
drops the rows of failed ones and retries them. Records of the earlier format (``{"id", "index",
"response" | "error"}``) are read the same way, so an old output file resumes too.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from .batch import BatchItem
from .errors import ClarifaiError
from .types import ChatCompletion

if TYPE_CHECKING:
    from .batch import Acquirer
    from .client import AsyncClarifai

__all__ = ["InvalidLine", "Line", "load_finished", "read_requests", "run_line"]


class InvalidLine(ValueError):
    """An input line that is not a request (bad JSON, no messages, a duplicate id, ...)."""


@dataclass
class Line:
    """One request of the input file, or the reason it cannot be one."""

    index: int
    id: Any = None
    messages: Any = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None

    def finished(self, done_indices: set[int], done_ids: set[Any]) -> bool:
        """Whether an earlier run already answered this line."""
        if self.problem is not None:
            return False  # e.g. a duplicate of a finished id: report it again
        return self.id in done_ids if self.id is not None else self.index in done_indices


def _parse_line(index: int, raw: bytes) -> Line:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Line(index, problem=f"not valid JSON: {exc}")
    if isinstance(obj, list):
        return Line(index, messages=obj)
    if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list):
        return Line(index, problem='expected a list of messages or an object with "messages"')
    line = Line(index, id=obj.pop("id", None), messages=obj.pop("messages"))
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


def read_requests(path: Path) -> list[Line]:
    """Every non-blank line of the input file, parsed (a bad line carries its ``problem``)."""
    lines: list[Line] = []
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


def _outcome(record: Any) -> tuple[bool, Any] | None:
    """``(finished, id)`` of an output record (either format), or None if it is not one."""
    if not isinstance(record, dict) or not isinstance(record.get("index"), int):
        return None
    if "error_type" in record:  # a BatchItem row
        return record["error_type"] is None, record.get("key")
    if "response" in record or "error" in record:  # the earlier format
        return "response" in record, record.get("id")
    return None


def load_finished(path: Path) -> tuple[set[int], set[Any]]:
    """Indices and ids that already have an answer; drops stale failed rows from the file.

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
        outcome = _outcome(record)
        if outcome is None:
            if any(r.strip() for r in raw_lines[position + 1 :]):
                raise ValueError(
                    f"{path} line {position + 1} is not a batch record; refusing to append to it"
                )
            dropped += 1
            continue
        finished, ident = outcome
        if not finished:
            dropped += 1  # a failed line: it is retried, and its new row replaces this one
            continue
        keep.append(raw)
        indices.add(record["index"])
        if ident is not None:
            ids.add(ident)
    if dropped:
        # Rewrite through a temporary file so a crash here cannot lose the kept answers.
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(b"".join(line + b"\n" for line in keep))
        os.replace(temporary, path)
    return indices, ids


async def run_line(
    client: AsyncClarifai, line: Line, default_model: str | None, limiter: Acquirer | None
) -> BatchItem:
    """Send one line's request; its outcome as a ``BatchItem`` (a bad line never raises)."""
    model = line.model or default_model
    problem = line.problem or (None if model else "no model: pass --model or name one per line")
    if problem is not None or model is None:
        return BatchItem(line.index, line.id, None, InvalidLine(problem), 0.0, model)
    started = time.perf_counter()
    try:
        request = client.acompletion(model, line.messages, **line.params)
        if limiter is not None:
            await limiter.acquire()
        completion = await request
    except (ClarifaiError, ValueError, TypeError) as exc:  # a bad line never sinks the rest
        return BatchItem(line.index, line.id, None, exc, time.perf_counter() - started, model)
    assert isinstance(completion, ChatCompletion)  # stream is never set
    return BatchItem(line.index, line.id, completion, None, time.perf_counter() - started, model)
