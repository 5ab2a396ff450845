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
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import jsonschema
from _example_cli import run_example  # the --online/--model command line, offline by default

from aclarifai import AsyncClarifai

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


async def run(client: AsyncClarifai, model: str, args: argparse.Namespace, out: TextIO) -> None:
    booking = await extract(client, model, args.text, out)
    out.write(f"city={booking['city']} party_size={booking['party_size']} day={booking['day']}\n")


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    try:
        return run_example(__doc__, run, argv, out, extra_args={"text": {"nargs": "?", "default": TEXT}})
    except (ValueError, jsonschema.ValidationError) as exc:
        print(f"the answer does not fit the schema: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
