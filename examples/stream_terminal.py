"""Stream a model's reasoning and answer to the terminal, token by token.

    python examples/stream_terminal.py                               # offline, FakeClarifai
    CLARIFAI_PAT=... python examples/stream_terminal.py --online [--model URL] [prompt]

Offline, FakeClarifai's demo model answers (with a short reasoning, since the request asks for
``reasoning_effort``). The stream is read as typed events (``stream.events()``); after it, the
assembled completion and its token usage are printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from _example_cli import run_example  # the --online/--model command line, offline by default

from aclarifai import AsyncClarifai

PROMPT = "Explain Server-Sent Events in one sentence."


async def stream_answer(client: AsyncClarifai, model: str, prompt: str, out: TextIO) -> None:
    messages = [{"role": "user", "content": prompt}]
    dim = out.isatty()
    reasoning = False
    async with client.acompletion(
        model=model, messages=messages, reasoning_effort="low", stream=True
    ) as stream:
        async for event in stream.events():
            if event.type == "reasoning.delta":
                if not reasoning:
                    out.write("[reasoning] ")
                    reasoning = True
                out.write(f"\x1b[2m{event.text}\x1b[0m" if dim else event.text)
            elif event.type == "content.delta":
                if reasoning:
                    out.write("\n")
                    reasoning = False
                out.write(event.text)
            elif event.type == "content.done":
                out.write("\n")
            elif event.type == "finished":
                out.write(f"[finish reason: {event.finish_reason}]\n")
            out.flush()
        completion = await stream.get_final_completion()
    usage = completion.usage
    words = len((completion.choices[0].message.content or "").split())
    out.write(f"[{words} words; {usage.total_tokens if usage else '?'} tokens]\n")


async def run(client: AsyncClarifai, model: str, args: argparse.Namespace, out: TextIO) -> None:
    await stream_answer(client, model, args.prompt, out)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    return run_example(__doc__, run, argv, out, extra_args={"prompt": {"nargs": "?", "default": PROMPT}})


if __name__ == "__main__":
    sys.exit(main())
