"""The ``chat`` and ``demo`` commands of ``python -m aclarifai``: one streamed turn printed to a
terminal, with a waiting notice while the model is silent and the total time at the end."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from contextlib import suppress
from typing import Any, TextIO

from . import events as ev
from ._config import Timeout
from ._version import __version__
from .client import AsyncClarifai
from .errors import ClarifaiError
from .hooks import ErrorInfo, Hooks, RequestInfo

__all__ = ["DEMO_MODEL", "NOTICE_AFTER", "ChatFailed", "run_chat", "run_demo"]

DEMO_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"
NOTICE_AFTER = 3.0
"""Seconds of silence before ``chat`` says, on a terminal, that it is still waiting."""
_DIM, _RESET = "\x1b[2m", "\x1b[0m"

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


class ChatFailed(Exception):
    """A ``chat`` that ended in an API error, with how long it tried and how often."""

    def __init__(self, error: ClarifaiError, attempts: int, elapsed: float) -> None:
        super().__init__(str(error))
        self.error, self.attempts, self.elapsed = error, attempts, elapsed


class _Printer:
    """Writes one turn's events; reasoning (when shown) under its own heading, then the answer."""

    def __init__(self, out: TextIO, show_reasoning: bool) -> None:
        self.out, self.show_reasoning = out, show_reasoning
        self._tty = out.isatty()
        self._section: str | None = None
        self.started = False  # the first byte of output was written
        self.reasoning = False  # hidden reasoning is arriving: the model is thinking
        self.wake = asyncio.Event()  # set when either of them becomes true

    def _enter(self, section: str) -> None:
        # Headings only when there is reasoning to tell apart from the answer.
        if section == "reasoning" and self._section is None:
            self.out.write("[reasoning]\n")
        elif section == "answer" and self._section == "reasoning":
            self.out.write("\n\n[answer]\n")
        self._section = section

    def write(self, event: ev.StreamEvent) -> ev.ToolCallDone | None:
        if isinstance(event, ev.ReasoningDelta):
            if not self.show_reasoning:
                if not self.reasoning:
                    self.reasoning = True
                    self.wake.set()
                return None
            self._enter("reasoning")
            self._emit(f"{_DIM}{event.text}{_RESET}" if self._tty else event.text)
        elif isinstance(event, ev.ContentDelta):
            self._enter("answer")
            self._emit(event.text)
        elif isinstance(event, ev.ToolCallStarted):
            self._enter("answer")
            self._emit(f"\n[tool call] {event.name}(")
        elif isinstance(event, ev.ToolCallArgumentsDelta):
            self._emit(event.delta)
        elif isinstance(event, ev.ToolCallDone):
            self._emit(")\n")
            return event
        return None

    def _emit(self, text: str) -> None:
        if text:
            if not self.started:
                self.started = True
                self.wake.set()
            self.out.write(text)
            self.out.flush()


async def _print_stream(
    client: AsyncClarifai, out: TextIO, *, show_reasoning: bool, printer: _Printer | None = None,
    **kwargs: Any,
) -> list[ev.ToolCallDone]:
    """Stream one turn to ``out``; return the completed tool calls."""
    printer = printer or _Printer(out, show_reasoning)
    calls: list[ev.ToolCallDone] = []
    async with client.acompletion(stream=True, **kwargs) as stream:
        async for event in stream.events():
            done = printer.write(event)
            if done is not None:
                calls.append(done)
    out.write("\n")
    return calls


class _Attempts:
    """Counts attempts through the client's hooks and remembers why the last one failed."""

    def __init__(self) -> None:
        self.count = 0
        self.last_failure: str | None = None

    def on_request(self, info: RequestInfo) -> None:
        self.count = info.attempt + 1

    def on_error(self, info: ErrorInfo) -> None:
        if info.will_retry:
            self.last_failure = str(info.error).splitlines()[0]


async def _notice(err: TextIO, printer: _Printer, attempts: _Attempts, total: int) -> None:
    """After ``NOTICE_AFTER`` seconds of silence, a line on ``err`` redrawn every second until
    the first output; cleared then."""
    start = time.monotonic()
    shown = 0
    try:
        while not printer.started and (left := NOTICE_AFTER - (time.monotonic() - start)) > 0:
            await _sleep_until_woken(printer, left)
        while not printer.started:
            waited = time.monotonic() - start
            doing = "the model is reasoning" if printer.reasoning else "waiting for the model"
            line = f"{doing}... {waited:.0f}s, attempt {attempts.count} of {total}"
            if attempts.last_failure:
                line += f" (the last one failed: {attempts.last_failure})"
            err.write("\r" + line.ljust(shown))
            err.flush()
            shown = len(line)
            await _sleep_until_woken(printer, 1.0)
    finally:
        if shown:
            err.write("\r" + " " * shown + "\r")
            err.flush()


async def _sleep_until_woken(printer: _Printer, seconds: float) -> None:
    printer.wake.clear()
    with suppress(asyncio.TimeoutError):  # not yet the builtin on Python 3.10
        await asyncio.wait_for(printer.wake.wait(), seconds)


def _timeout(seconds: float | None) -> Timeout | None:
    if seconds is None:
        return None
    return Timeout(connect=min(5.0, seconds), read=seconds, total=seconds)


async def run_chat(args: Any, out: TextIO | None = None, err: TextIO | None = None) -> None:
    """``chat``: stream one reply to ``out``; a waiting notice and the total time on ``err``.

    Raises ``ChatFailed`` when the API call fails (after its retries).
    """
    out, err = out or sys.stdout, err or sys.stderr
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
    attempts = _Attempts()
    hooks = Hooks(on_request=attempts.on_request, on_error=attempts.on_error)
    printer = _Printer(out, args.show_reasoning)
    start = time.monotonic()
    async with AsyncClarifai(
        api_key=args.api_key, base_url=args.base_url, timeout=_timeout(args.timeout),
        max_retries=args.max_retries, hooks=hooks,
    ) as client:
        notice = None
        if err.isatty():
            notice = asyncio.create_task(_notice(err, printer, attempts, args.max_retries + 1))
        try:
            await _print_stream(
                client, out, show_reasoning=args.show_reasoning, printer=printer,
                model=args.model, messages=messages, **params,
            )
        except ClarifaiError as exc:
            raise ChatFailed(exc, max(attempts.count, 1), time.monotonic() - start) from exc
        finally:
            if notice is not None:
                notice.cancel()
                with suppress(asyncio.CancelledError):
                    await notice
    tries = "" if attempts.count <= 1 else f", {attempts.count} attempts"
    err.write(f"answered in {time.monotonic() - start:.1f}s{tries}\n")


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
