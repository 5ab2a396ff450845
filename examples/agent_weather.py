"""An agent with a weather tool, its events streamed to the terminal.

    python examples/agent_weather.py                     # offline, against FakeClarifai
    CLARIFAI_PAT=... python examples/agent_weather.py --online [--model URL] [question]

Offline, the bundled FakeClarifai server's demo model plays the model: it calls the tools named
in the question and answers with what they returned. Online, a real model on Clarifai does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TextIO

from aclarifai import AsyncClarifai
from aclarifai.agent import Agent, RunFinished, ToolCallReady, ToolResult
from aclarifai.events import ContentDelta
from aclarifai.tools import tool

# The shared command line sits next to this file. Run as a script, this folder is already first
# on sys.path; this line also finds it when the file is loaded by path (tests/test_agent.py does).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _example_cli import run_example  # noqa: E402  the --online/--model command line, offline by default

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


async def run(client: AsyncClarifai, model: str, args: argparse.Namespace, out: TextIO) -> None:
    agent = Agent(model, [get_weather], instructions=INSTRUCTIONS, client=client)
    await ask(agent, args.question, out)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    return run_example(__doc__, run, argv, out, extra_args={"question": {"nargs": "?", "default": QUESTION}})


if __name__ == "__main__":
    sys.exit(main())
