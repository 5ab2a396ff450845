"""Structured output: ask for JSON that fits a schema, watch it fill in, validate the result.

    python examples/structured_output.py                             # offline, FakeClarifai
    CLARIFAI_PAT=... python examples/structured_output.py --online [--model URL] [text]

``response_format`` with a ``json_schema`` asks the model for a JSON object that fits the
schema (offline, FakeClarifai's demo model builds one from the schema and the text). The answer
streams as text; the partial JSON is shown as it grows, then the whole answer is parsed and
checked against the schema with ``jsonschema``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import jsonschema

from aclarifai import AsyncClarifai
from aclarifai.errors import ClarifaiError
from aclarifai.testing import FakeClarifai

DEFAULT_MODEL = "https://clarifai.com/openai/chat-completion/models/gpt-oss-120b"
TEXT = "Book a table for 4 people on Friday evening in Lyon, by the window if possible."

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
BOOKING: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "Where the restaurant is."},
        "party_size": {"type": "integer", "minimum": 1, "maximum": 20},
        "day": {"type": "string", "enum": DAYS},
        "requests": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["city", "party_size", "day", "requests"],
    "additionalProperties": False,
}


async def extract(client: AsyncClarifai, model: str, text: str, out: TextIO) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": "Extract the booking request as JSON."},
        {"role": "user", "content": text},
    ]
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "booking", "schema": BOOKING, "strict": True},
    }
    async with client.acompletion(
        model=model, messages=messages, response_format=response_format, stream=True
    ) as stream:
        async for event in stream.events():
            if event.type == "content.delta":
                out.write(event.text)  # the JSON as it arrives
                out.flush()
        completion = await stream.get_final_completion()
    out.write("\n")
    booking: dict[str, Any] = json.loads(completion.choices[0].message.content or "")
    jsonschema.validate(booking, BOOKING)  # raises jsonschema.ValidationError if it does not fit
    return booking


async def offline(model: str, text: str, out: TextIO) -> dict[str, Any]:
    async with FakeClarifai() as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url
    ) as client:
        return await extract(client, model, text, out)


async def online(model: str, text: str, out: TextIO) -> dict[str, Any]:
    async with AsyncClarifai() as client:  # the PAT comes from CLARIFAI_PAT
        return await extract(client, model, text, out)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", default=TEXT)
    parser.add_argument("--online", action="store_true", help="use the real API (needs CLARIFAI_PAT)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    if args.online and not os.environ.get("CLARIFAI_PAT"):
        print("--online needs a Personal Access Token in CLARIFAI_PAT", file=sys.stderr)
        return 2
    try:
        booking = asyncio.run((online if args.online else offline)(args.model, args.text, out))
    except ClarifaiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, jsonschema.ValidationError) as exc:
        print(f"the answer does not fit the schema: {exc}", file=sys.stderr)
        return 1
    out.write(f"city={booking['city']} party_size={booking['party_size']} day={booking['day']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
