"""Stream a model's reasoning and answer to the terminal, token by token.

    python examples/stream_terminal.py                               # offline, FakeClarifai
    CLARIFAI_PAT=... python examples/stream_terminal.py --online [--model URL] [prompt]

Offline, FakeClarifai's demo model answers (with a short reasoning, since the request asks for
``reasoning_effort``). The stream is read as typed events (``stream.events()``); after it, the
assembled completion and its token usage are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from aclarifai import AsyncClarifai
from aclarifai.errors import ClarifaiError
from aclarifai.testing import FakeClarifai

DEFAULT_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
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


async def offline(model: str, prompt: str, out: TextIO) -> None:
    async with FakeClarifai() as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url
    ) as client:
        await stream_answer(client, model, prompt, out)


async def online(model: str, prompt: str, out: TextIO) -> None:
    async with AsyncClarifai() as client:  # the PAT comes from CLARIFAI_PAT
        await stream_answer(client, model, prompt, out)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt", nargs="?", default=PROMPT)
    parser.add_argument("--online", action="store_true", help="use the real API (needs CLARIFAI_PAT)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    if args.online and not os.environ.get("CLARIFAI_PAT"):
        print("--online needs a Personal Access Token in CLARIFAI_PAT", file=sys.stderr)
        return 2
    try:
        asyncio.run((online if args.online else offline)(args.model, args.prompt, out))
    except ClarifaiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
