"""Tool calling by hand, without Agent: stream, run each call as soon as it is complete, answer.

    python examples/tool_calling_by_hand.py                          # offline, FakeClarifai
    CLARIFAI_PAT=... python examples/tool_calling_by_hand.py --online [--model URL] [question]

The loop an Agent runs for you, written out: send the conversation with the tools; while the
model streams, start each tool call as soon as its ``tool_call.done`` event says its arguments
are complete; append the assistant message and one ``tool`` message per call; ask again until
the model answers without calling a tool. Bad arguments go back to the model as the tool's
result, so it can correct itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from _example_cli import run_example  # the --online/--model command line, offline by default

from aclarifai import AsyncClarifai, ToolCall
from aclarifai.errors import ToolArgumentsError
from aclarifai.tools import Tool, tool

QUESTION = "What's the weather in Paris, and the time there?"
MAX_TURNS = 5


@tool
def get_weather(location: str) -> dict[str, Any]:
    """Get the current weather for a city.

    Args:
        location: The city, e.g. "Paris".
    """
    return {"location": location, "temperature_c": 21, "conditions": "sunny"}


@tool
async def get_time(city: str) -> str:
    """Get the local time in a city.

    Args:
        city: The city, e.g. "Tokyo".
    """
    await asyncio.sleep(0)  # an async tool: awaited on the event loop
    return f"14:05 in {city}"


TOOLS: dict[str, Tool] = {t.name: t for t in (get_weather, get_time)}


async def run_call(call: ToolCall) -> str:
    """The ``tool`` message content for one call: the output as JSON, or an error to show the model."""
    name = call.function.name or ""
    if name not in TOOLS:
        return f"Error: there is no tool named {name!r}"
    try:
        output = await TOOLS[name].invoke(call.function.parse_arguments())
    except (ValueError, ToolArgumentsError) as exc:  # not JSON, or not what the schema says
        return f"Error: {exc}"
    return output if isinstance(output, str) else json.dumps(output)


async def ask(client: AsyncClarifai, model: str, question: str, out: TextIO) -> str:
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    schemas = [t.schema for t in TOOLS.values()]
    out.write(f"> {question}\n")
    for _ in range(MAX_TURNS):
        running: list[tuple[ToolCall, asyncio.Task[str]]] = []
        try:
            async with client.acompletion(
                model=model, messages=messages, tools=schemas, stream=True
            ) as stream:
                async for event in stream.events():
                    if event.type == "content.delta":
                        out.write(event.text)
                    elif event.type == "tool_call.done":
                        call = event.tool_call
                        out.write(f"[tool call] {call.function.name}({call.function.arguments})\n")
                        running.append((call, asyncio.create_task(run_call(call))))
                completion = await stream.get_final_completion()
        except BaseException:  # the stream failed: stop the tools it started
            for _, task in running:
                task.cancel()
            await asyncio.gather(*(task for _, task in running), return_exceptions=True)
            raise
        message = completion.choices[0].message
        if not running:
            out.write("\n")
            return message.content or ""
        messages.append(message.to_dict())  # the assistant message, tool calls included
        for call, task in running:  # results go back in call order
            content = await task
            out.write(f"[tool result] {content}\n")
            messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
    raise RuntimeError(f"no answer after {MAX_TURNS} turns")


async def run(client: AsyncClarifai, model: str, args: argparse.Namespace, out: TextIO) -> None:
    await ask(client, model, args.question, out)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    return run_example(__doc__, run, argv, out, extra_args={"question": {"nargs": "?", "default": QUESTION}})


if __name__ == "__main__":
    sys.exit(main())
