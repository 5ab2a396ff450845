"""An agent with several tools: parallel calls, a follow-up question, the run's records.

    python examples/agent_multi_tool.py                              # offline, FakeClarifai
    CLARIFAI_PAT=... python examples/agent_multi_tool.py --online [--model URL]

The first question needs two tools, which the model calls in one turn; the agent starts each
as soon as its arguments are complete, so they run side by side. The second question continues
the conversation (``result.messages`` plus a new user message) and needs a third tool.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any, Literal, TextIO

from _example_cli import run_example  # the --online/--model command line, offline by default

from aclarifai import AsyncClarifai
from aclarifai.agent import Agent, AgentResult, RunFinished, ToolCallReady, ToolResult
from aclarifai.tools import tool

QUESTIONS = (
    "What's the weather in Paris, and the local time there?",
    "Convert 100 EUR to USD for my trip.",
)
RATES = {("EUR", "USD"): 1.08, ("USD", "EUR"): 0.93}


@tool
def get_weather(location: str, units: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        location: The city, e.g. "Paris".
        units: Temperature units.
    """
    return {"location": location, "temperature": 21 if units == "celsius" else 70, "units": units}


@tool
async def get_time(city: str) -> dict[str, str]:
    """Get the local time in a city.

    Args:
        city: The city, e.g. "Tokyo".
    """
    await asyncio.sleep(0.01)  # a slow lookup: it runs while the other tool runs
    return {"city": city, "time": "14:05"}


@tool
def convert_currency(amount: float, source: str = "EUR", target: str = "USD") -> dict[str, Any]:
    """Convert an amount of money between currencies.

    Args:
        amount: How much money.
        source: ISO code of the currency to convert from.
        target: ISO code of the currency to convert to.
    """
    rate = RATES.get((source.upper(), target.upper()), 1.0)
    return {"amount": round(amount * rate, 2), "currency": target.upper(), "rate": rate}


async def ask(agent: Agent, conversation: str | list[dict[str, Any]], out: TextIO) -> AgentResult:
    async with agent.stream(conversation) as events:
        async for event in events:
            if event.type == "content.delta":
                out.write(event.text)
            elif isinstance(event, ToolCallReady):
                out.write(f"[tool call] {event.call.function.name}({json.dumps(event.arguments)})\n")
            elif isinstance(event, ToolResult):
                shown = event.error or json.dumps(event.output)
                out.write(f"[tool result] {event.call.function.name}: {shown}\n")
            elif isinstance(event, RunFinished):
                out.write("\n")
    return events.result


async def conversation(agent: Agent, out: TextIO) -> None:
    first, second = QUESTIONS
    out.write(f"> {first}\n")
    result = await ask(agent, first, out)
    out.write(f"> {second}\n")
    result = await ask(agent, [*result.messages, {"role": "user", "content": second}], out)
    names = [record.name for record in result.tool_calls]
    out.write(
        f"[last run: {result.turns} turns, {result.usage.total_tokens} tokens, tools: {', '.join(names)}; "
        f"{len(result.messages)} messages in the conversation]\n"
    )


async def run(client: AsyncClarifai, model: str, args: argparse.Namespace, out: TextIO) -> None:
    agent = Agent(
        model,
        [get_weather, get_time, convert_currency],
        instructions="You are a travel assistant. Use the tools; answer in one or two sentences.",
        client=client,
        max_turns=4,
    )
    await conversation(agent, out)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    return run_example(__doc__, run, argv, out)


if __name__ == "__main__":
    sys.exit(main())
