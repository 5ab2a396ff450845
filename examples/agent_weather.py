"""An agent with a weather tool, its events streamed to the terminal.

    python examples/agent_weather.py                     # offline, against FakeClarifai
    CLARIFAI_PAT=... python examples/agent_weather.py --online [--model URL] [question]

Offline, the bundled FakeClarifai server's demo model plays the model: it calls the tools named
in the question and answers with what they returned. Online, a real model on Clarifai does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, Literal, TextIO

from aclarifai import AsyncClarifai
from aclarifai.agent import Agent, RunFinished, ToolCallReady, ToolResult
from aclarifai.errors import ClarifaiError
from aclarifai.events import ContentDelta
from aclarifai.testing import FakeClarifai
from aclarifai.tools import tool

DEFAULT_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
QUESTION = "What's the weather in Paris?"
INSTRUCTIONS = "You are a concise weather assistant. Use get_weather for current conditions."


@tool
def get_weather(location: str, units: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        location: The city, e.g. "Paris".
        units: Temperature units.
    """
    temperature = 21 if units == "celsius" else 70
    return {"location": location, "temperature": temperature, "units": units, "conditions": "sunny"}


async def ask(agent: Agent, question: str, out: TextIO) -> None:
    """Run the agent on ``question``, printing text, tool calls and tool results as they come."""
    out.write(f"> {question}\n")
    async with agent.stream(question) as events:
        async for event in events:
            if isinstance(event, ContentDelta):
                out.write(event.text)
            elif isinstance(event, ToolCallReady):
                out.write(f"[tool call] {event.call.function.name}({json.dumps(event.arguments)})\n")
            elif isinstance(event, ToolResult):
                shown = event.error or json.dumps(event.output)
                out.write(f"[tool result] {shown} ({event.duration * 1000:.0f} ms)\n")
            elif isinstance(event, RunFinished):
                result = event.result
                out.write(f"\n[{result.turns} turns, {result.usage.total_tokens} tokens]\n")
            out.flush()


async def offline(question: str, out: TextIO) -> None:
    async with FakeClarifai() as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url
    ) as client:
        agent = Agent(DEFAULT_MODEL, [get_weather], instructions=INSTRUCTIONS, client=client)
        await ask(agent, question, out)


async def online(model: str, question: str, out: TextIO) -> None:
    async with AsyncClarifai() as client:  # the PAT comes from CLARIFAI_PAT
        agent = Agent(model, [get_weather], instructions=INSTRUCTIONS, client=client)
        await ask(agent, question, out)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", default=QUESTION)
    parser.add_argument("--online", action="store_true", help="use the real API (needs CLARIFAI_PAT)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    if args.online and not os.environ.get("CLARIFAI_PAT"):
        print("--online needs a Personal Access Token in CLARIFAI_PAT", file=sys.stderr)
        return 2
    try:
        if args.online:
            asyncio.run(online(args.model, args.question, out))
        else:
            asyncio.run(offline(args.question, out))
    except ClarifaiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
