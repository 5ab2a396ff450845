"""``python -m aclarifai``: chat with a model from the terminal, run a JSONL batch, or run the
offline demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from . import events as ev
from ._batchfile import Line, load_finished, read_requests, run_line
from ._batchpump import pump
from ._config import is_clarifai_api, resolve_api_key, resolve_base_url
from ._version import __version__
from .batch import BatchItem, RateLimiter
from .client import AsyncClarifai
from .errors import ClarifaiError
from .models import wire_model
from .types import Usage

DEFAULT_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
DEMO_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"
BASE_URL_HELP = "API root, or a gateway's URL with its path (default: CLARIFAI_API_BASE)"

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City name"}},
            "required": ["location"],
            "additionalProperties": False,
        },
    },
}


def get_weather(location: str) -> dict[str, Any]:
    """The demo's local tool: a deterministic forecast."""
    return {"location": location, "temperature_c": 21, "conditions": "sunny"}


async def _print_stream(
    client: AsyncClarifai, out: TextIO, *, show_reasoning: bool, **kwargs: Any
) -> list[ev.ToolCallDone]:
    """Stream one turn to ``out``; return the completed tool calls."""
    calls: list[ev.ToolCallDone] = []
    async with client.acompletion(stream=True, **kwargs) as stream:
        async for event in stream.events():
            if isinstance(event, ev.ContentDelta):
                out.write(event.text)
            elif isinstance(event, ev.ReasoningDelta) and show_reasoning:
                out.write(f"\x1b[2m{event.text}\x1b[0m" if out.isatty() else event.text)
            elif isinstance(event, ev.ToolCallStarted):
                out.write(f"\n[tool call] {event.name}(")
            elif isinstance(event, ev.ToolCallArgumentsDelta):
                out.write(event.delta)
            elif isinstance(event, ev.ToolCallDone):
                out.write(")\n")
                calls.append(event)
            out.flush()
    out.write("\n")
    return calls


async def run_demo(out: TextIO = sys.stdout) -> None:
    """Offline: stream an answer, then one tool-call round trip, against FakeClarifai."""
    from .testing import FakeClarifai

    async with FakeClarifai() as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url
    ) as client:
        out.write(f"aclarifai {__version__} demo, offline against FakeClarifai at {fake.base_url}\n")
        out.write("\n> Hello! Who are you?\n")
        await _print_stream(
            client, out, show_reasoning=False, model=DEMO_MODEL,
            messages=[{"role": "user", "content": "Hello! Who are you?"}],
        )
        question = "What's the weather in Paris?"
        out.write(f"\n> {question}\n")
        messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
        calls = await _print_stream(
            client, out, show_reasoning=False, model=DEMO_MODEL, messages=messages,
            tools=[WEATHER_TOOL],
        )
        messages.append(
            {"role": "assistant", "content": None,
             "tool_calls": [c.tool_call.to_dict() for c in calls]}
        )
        for call in calls:
            result = get_weather(**call.tool_call.function.parse_arguments())
            out.write(f"[tool result] {json.dumps(result)}\n")
            messages.append(
                {"role": "tool", "tool_call_id": call.tool_call.id, "content": json.dumps(result)}
            )
        await _print_stream(
            client, out, show_reasoning=False, model=DEMO_MODEL, messages=messages,
            tools=[WEATHER_TOOL],
        )


async def run_chat(args: argparse.Namespace, out: TextIO = sys.stdout) -> None:
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})
    params: dict[str, Any] = {}
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    if args.reasoning_effort:
        params["reasoning_effort"] = args.reasoning_effort
    async with AsyncClarifai(base_url=args.base_url) as client:
        await _print_stream(
            client, out, show_reasoning=args.show_reasoning, model=args.model,
            messages=messages, **params,
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m aclarifai", description=__doc__)
    parser.add_argument("--version", action="version", version=f"aclarifai {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    chat = commands.add_parser("chat", help="stream a reply from a model (needs CLARIFAI_PAT)")
    chat.add_argument("prompt")
    chat.add_argument("--model", default=os.environ.get("ACLARIFAI_MODEL", DEFAULT_MODEL))
    chat.add_argument("--system", default=None, help="a system message")
    chat.add_argument("--temperature", type=float, default=None)
    chat.add_argument("--max-tokens", type=int, default=None)
    chat.add_argument("--reasoning-effort", choices=["low", "medium", "high"], default=None)
    chat.add_argument("--show-reasoning", action="store_true", help="print reasoning, dimmed")
    chat.add_argument("--base-url", default=None, help=BASE_URL_HELP)
    commands.add_parser("demo", help="run offline against the bundled FakeClarifai server")
    batch = commands.add_parser(
        "batch", help="run every request of a JSONL file, resumably (needs CLARIFAI_PAT)",
        description=_BATCH_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("input", type=Path, help="JSONL: one request per line")
    batch.add_argument("output", type=Path, help="JSONL: one record per line, appended to")
    batch.add_argument(
        "--model", default=os.environ.get("ACLARIFAI_MODEL"),
        help="model for lines that name none (default: ACLARIFAI_MODEL)",
    )
    batch.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    batch.add_argument(
        "--rate-limit", type=float, default=None, metavar="PER_SECOND",
        help="request starts per second (default: no limit; Clarifai's account default is 15)",
    )
    batch.add_argument("--max-retries", type=int, default=2, help="retries per request (default 2)")
    batch.add_argument("--base-url", default=None, help=BASE_URL_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "batch":
        return run_batch(args)
    try:
        if args.command == "demo":
            asyncio.run(run_demo())
        else:
            asyncio.run(run_chat(args))
    except ClarifaiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


# -- batch --------------------------------------------------------------------------------------

_BATCH_HELP = """\
Each input line is a list of messages, or an object {"messages": [...], ...} with an optional
"id", an optional "model" and any request parameters ("temperature", "max_tokens", ...).
Each output line is a flat row: {"index", "key", "content", "finish_reason", "tool_calls",
"prompt_tokens", "completion_tokens", "model", "latency", "error_type", "error_message",
"status_code", "error_code", "request_id"}; "index" is the 0-based line number in the input,
"key" the line's "id" (null without one), "error_type" null when the line was answered.
Rerunning skips lines that already have an answer (matched by "id" when the line has one, else
by index) and retries failed ones. Exit status: 0 all done, 1 some line failed.
"""
_BAR_WIDTH = 30


class _Progress:
    """``[#####-----] 12/40`` on a terminal, redrawn in place; nothing otherwise."""

    def __init__(self, stream: TextIO, done: int, total: int) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self.done = done
        self.total = total

    def advance(self) -> None:
        self.done += 1
        self.draw()

    def draw(self) -> None:
        if not self._tty or not self.total:
            return
        filled = self.done * _BAR_WIDTH // self.total
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        self._stream.write(f"\r[{bar}] {self.done}/{self.total}")
        self._stream.flush()

    def close(self) -> None:
        if self._tty and self.total:
            self._stream.write("\n")


@dataclass
class _Tally:
    responses: int = 0
    failures: int = 0
    usage: Usage = field(default_factory=lambda: Usage({}))


async def _run_lines(
    args: argparse.Namespace, pending: list[Line], write: Callable[[dict[str, Any]], None],
    progress: _Progress,
) -> _Tally:
    tally = _Tally()
    limiter = _as_limiter(args.rate_limit)
    async with AsyncClarifai(base_url=args.base_url, max_retries=args.max_retries) as client:

        async def job(position: int, line: Line) -> BatchItem:
            return await run_line(client, line, args.model, limiter)

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
                progress.advance()
    return tally


def _as_limiter(rate: float | None) -> RateLimiter | None:
    return None if rate is None else RateLimiter(rate)


def run_batch(args: argparse.Namespace, err: TextIO | None = None) -> int:
    """``batch`` subcommand: 0 when every line has a response, 1 when some failed, 2 when
    nothing could start (bad arguments or files, no PAT)."""
    err = err or sys.stderr
    try:
        resolve_api_key(None)  # no PAT or a bad base URL: say so before touching any file
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
        print(f"error: {exc}", file=err)
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
        print(f"error: {exc}", file=err)
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
