"""``python -m aclarifai``: chat with a model from the terminal, or run the offline demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from . import events as ev
from ._version import __version__
from .client import AsyncClarifai
from .errors import ClarifaiError

DEFAULT_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
DEMO_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-20b"

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
    chat.add_argument("--base-url", default=None, help="API root (default: CLARIFAI_API_BASE)")
    commands.add_parser("demo", help="run offline against the bundled FakeClarifai server")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
